"""The workbook's process: work done in a forked child, its errors raised in the parent."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from iod_msoa._writers import in_child


def write_pid(path: Path) -> None:
    path.write_text(str(os.getpid()))


def fail(message: str) -> None:
    raise ValueError(message)


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def fail_unpicklably() -> None:
    raise Unpicklable("a lock inside")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_work_runs_in_another_process_and_is_done_after_the_wait(tmp_path):
    with in_child(write_pid, tmp_path / "pid") as wait:
        wait()
    assert int((tmp_path / "pid").read_text()) != os.getpid()


def test_an_error_in_the_child_is_raised_by_the_wait(tmp_path):
    message = "column 'x' holds an infinite value"
    with in_child(fail, message) as wait, pytest.raises(ValueError) as raised:
        wait()
    assert str(raised.value) == message
    with in_child(fail_unpicklably) as wait, pytest.raises(RuntimeError) as raised:
        wait()
    assert str(raised.value) == "Unpicklable: a lock inside"


def test_a_child_that_dies_is_an_error_not_a_silent_success():
    with in_child(die) as wait, pytest.raises(ChildProcessError, match="stopped"):
        wait()


def write_pid_and_sleep(path: Path) -> None:
    write_pid(path)
    time.sleep(60)


def test_leaving_the_block_without_waiting_stops_the_child(tmp_path):
    path = tmp_path / "pid"
    with pytest.raises(KeyboardInterrupt), in_child(write_pid_and_sleep, path):
        while not path.is_file() or not path.read_text():
            time.sleep(0.01)
        raise KeyboardInterrupt
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(int(path.read_text()), 0)


def test_without_fork_the_work_runs_in_a_thread(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "fork")
    with in_child(write_pid, tmp_path / "pid") as wait:
        wait()
    assert int((tmp_path / "pid").read_text()) == os.getpid()
    with in_child(fail, "boom") as wait, pytest.raises(ValueError, match="boom"):
        wait()
