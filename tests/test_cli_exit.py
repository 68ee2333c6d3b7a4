"""The command ends its process at once when ``main`` returns: the exit handlers run and
its output is flushed first, the interpreter's teardown skipped."""

from __future__ import annotations

import atexit
import io
import os
import threading

import pytest

from iod_msoa import cli


class Ended(Exception):
    """Stands in for the end of the process in these tests."""


@pytest.fixture
def ended(monkeypatch) -> list[object]:
    """What happened at the end, in order: the exit handlers ran, the process ended with a
    status (pytest's own handlers are not run)."""
    events: list[object] = []

    def end(status: int) -> None:
        events.append(status)
        raise Ended

    monkeypatch.setattr(os, "_exit", end)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: events.append("handlers"))
    # nothing runs behind (another test's background reader may still be sleeping)
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.current_thread()])
    return events


class Buffered(io.StringIO):
    """A stream that holds what is written until flushed, as a pipe's buffer does."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = ""

    def flush(self) -> None:
        self.flushed = self.getvalue()


@pytest.mark.parametrize("status", [0, 1])
def test_run_flushes_then_ends_without_finalising(monkeypatch, ended, status):
    out, err = Buffered(), Buffered()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)

    def main() -> int:
        print("Built: 6,856 MSOAs")
        print("iod-msoa: error: x", file=err)
        return status

    monkeypatch.setattr(cli, "main", main)
    with pytest.raises(Ended):
        cli.run()
    assert ended == ["handlers", status]
    assert out.flushed == "Built: 6,856 MSOAs\n"
    assert err.flushed == "iod-msoa: error: x\n"


def test_a_reader_gone_is_status_120_as_python_gives(monkeypatch, ended):
    class Closed(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Closed())
    monkeypatch.setattr(cli, "main", lambda: 0)
    with pytest.raises(Ended):
        cli.run()
    assert ended == ["handlers", 120]
