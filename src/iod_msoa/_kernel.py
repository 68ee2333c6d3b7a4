"""The site's Jupyter kernel talks to Quarto over local sockets, not TCP.

Quarto runs each page in a kernel started by nbclient with jupyter_client's defaults: TCP on
127.0.0.1 without encryption, which ipykernel 7 warns about on every page. The kernel never
needs a network port, so :class:`IpcProvisioner` starts it on IPC (Unix domain) sockets in a
directory only this user can open. jupyter_client finds the provisioner by the name the
kernelspec gives (``metadata.kernel_provisioner``); ``python -m iod_msoa._kernel`` installs
that kernelspec as ``python3`` in this environment, as ``ipykernel install --sys-prefix`` would.

Needs the ``site`` extra (jupyter_client, ipykernel, pyzmq); nothing else imports it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import zmq
from ipykernel.kernelspec import get_kernel_dict, write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner

PROVISIONER = "iod-msoa-ipc"  # the entry point in pyproject.toml names this class
KERNEL = "python3"  # the kernel the pages ask for (`jupyter: python3`)


class IpcProvisioner(LocalProvisioner):
    """A local kernel on IPC sockets where zmq has them (else TCP, as jupyter_client does)."""

    ipc_dir: str | None = None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Point the kernel manager at IPC before the connection file is written."""
        km = self.parent
        if km is not None and zmq.has("ipc"):
            if self.ipc_dir is None:  # a restart keeps its folder
                self.ipc_dir = tempfile.mkdtemp(prefix="iod-msoa-kernel-")  # mode 0700
            km.transport = "ipc"
            km.ip = str(Path(self.ipc_dir) / "kernel")  # sockets are kernel-<port>
            km.cache_ports = False  # the TCP port cache means nothing for files
        return await super().pre_launch(**kwargs)

    async def cleanup(self, restart: bool = False) -> None:
        """Remove the socket folder once the kernel is gone for good."""
        await super().cleanup(restart=restart)
        if not restart and self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
            self.ipc_dir = None


def install_kernelspec(prefix: str = sys.prefix) -> str:
    """Install ipykernel's ``python3`` kernelspec under *prefix*, naming our provisioner."""
    # A kernelspec naming a provisioner jupyter_client cannot find is "no such kernel": refuse
    # rather than break the render when the package was installed before the entry point.
    registered = {ep.name for ep in entry_points(group="jupyter_client.kernel_provisioners")}
    if PROVISIONER not in registered:
        raise SystemExit(
            f"iod_msoa._kernel: the {PROVISIONER} kernel provisioner is not registered;"
            " reinstall the package (pip install -e '.[site]') and run this again."
        )
    metadata = {
        **get_kernel_dict()["metadata"],
        "kernel_provisioner": {"provisioner_name": PROVISIONER},
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_kernel_spec(Path(tmp) / KERNEL, overrides={"metadata": metadata})
        return KernelSpecManager().install_kernel_spec(spec, KERNEL, prefix=prefix)


if __name__ == "__main__":
    install_kernelspec()
