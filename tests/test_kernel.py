"""The pages' kernel, started the way Quarto starts it, uses IPC and prints no TCP warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager

from iod_msoa import _kernel

WARNING = "Kernel is running over TCP without encryption"

# What Quarto's notebook.py does: an nbclient NotebookClient with its default kernel manager.
RUN_A_CELL = """
import nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(40 + 2)")])
client = NotebookClient(nb, kernel_name="python3")
client.execute()
print(nb.cells[0].outputs[0]["text"], end="")
print(client.km is None)
"""


def run_a_cell(prefix: Path, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run one cell in the ``python3`` kernel installed under *prefix*; kernel stderr included.
    With *tmp*, the run's temporary folder (``$TMPDIR``): the kernel's sockets go there."""
    env = os.environ | {"JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return subprocess.run(
        [sys.executable, "-c", RUN_A_CELL],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_kernelspec_names_the_provisioner(tmp_path):
    folder = Path(_kernel.install_kernelspec(prefix=str(tmp_path)))
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"] == {"provisioner_name": _kernel.PROVISIONER}
    assert spec["metadata"]["debugger"] is True  # ipykernel's own metadata kept
    assert folder == tmp_path / "share" / "jupyter" / "kernels" / "python3"


def test_a_kernel_from_our_kernelspec_runs_on_ipc_without_the_warning(tmp_path):
    _kernel.install_kernelspec(prefix=str(tmp_path))
    # a temporary folder of its own, as kernels other tests or renders start meanwhile make
    # and remove socket folders in the shared one; short, as a socket's path is (< 108 bytes)
    tmp = Path(tempfile.mkdtemp(prefix="iod-msoa-test-"))
    try:
        ran = run_a_cell(tmp_path, tmp)
        left = list(tmp.glob("iod-msoa-kernel-*"))
    finally:
        shutil.rmtree(tmp)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "42\nTrue\n"
    assert WARNING not in ran.stderr
    assert left == []  # its socket folder is gone with the kernel


def test_ipykernels_own_kernelspec_warns(tmp_path):
    """The check above can fail: without the provisioner the same run prints the warning."""
    spec = write_kernel_spec(tmp_path / "spec")
    KernelSpecManager().install_kernel_spec(spec, "python3", prefix=str(tmp_path))
    ran = run_a_cell(tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert WARNING in ran.stderr


def test_refuses_to_name_a_provisioner_jupyter_cannot_find(tmp_path, monkeypatch):
    monkeypatch.setattr(_kernel, "PROVISIONER", "not-registered")
    with pytest.raises(SystemExit, match="reinstall the package"):
        _kernel.install_kernelspec(prefix=str(tmp_path))
    assert not (tmp_path / "share").exists()
