"""Deliveries in child processes (``tests/reliability/child.py``): start them, wait for a moment, kill them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.conftest import ROOT


def start_delivery(*args: str) -> subprocess.Popen[str]:
    """A child delivery with the test's environment (AIRFLOW_HOME, AIRFLOW_CONN_*, LEXOFFICE_TOKEN_KEY)."""
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.child", *args], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def sigkill(process: subprocess.Popen[str]) -> None:
    """kill -9: no finally blocks, no lease release, no outbox commit."""
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)  # reaps it and closes its pipes


def finish(processes: Sequence[subprocess.Popen[str]], *, timeout: float) -> list[str]:
    """Wait for every child; return their stdout; fail with their stderr if one failed."""
    outputs = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        assert process.returncode == 0, f"child {process.args} failed ({process.returncode}):\n{err[-3000:]}"
        outputs.append(out)
    return outputs


def go_when_ready(ready_files: Sequence[Path], go_file: Path, *, timeout: float = 90) -> None:
    """Once every child has imported everything (its ready file exists), release them all at the same moment."""
    wait_until(lambda: all(f.exists() for f in ready_files), timeout=timeout, what="the children to be ready")
    go_file.write_text("go")
