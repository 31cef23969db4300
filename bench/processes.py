"""Worker processes that start in milliseconds: forked from a server that has imported the pipeline once.

Every delivery tenant and every staging size runs in its own OS process (as issue #7 asks), but a fresh
interpreter spends one to several seconds importing SQLAlchemy, pandas and the pipeline, which on a shared
2-core machine adds up to minutes. A multiprocessing forkserver imports them once (``bench.preload``);
each worker is a fork of that clean, single-threaded server. Results come back over a pipe.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

_context: ForkServerContext | None = None


def _forkserver() -> ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")  # type: ignore[assignment]
        _context.set_forkserver_preload(["bench.preload"])
    return _context


def start(target: Callable[[dict[str, Any], Connection], None], config: dict[str, Any],
          name: str) -> tuple[BaseProcess, Connection]:
    """Start ``target(config, child_end)`` in a forked worker; returns the process and the parent's end."""
    context = _forkserver()
    parent_end, child_end = context.Pipe()
    process = context.Process(target=target, args=(config, child_end), name=name, daemon=True)
    process.start()
    child_end.close()
    return process, parent_end
