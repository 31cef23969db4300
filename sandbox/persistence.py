"""Where the sandbox keeps its state between restarts: nowhere (memory) or a SQLite file.

The model lives in memory either way; with ``--state sqlite:///file`` every changed record is written as a JSON
row in the same request that changed it, so a restarted sandbox on the same file sees the same data.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

Change = tuple[str, str, Any]  # (kind, key, JSON-able record or None for a deletion)


class Persistence(Protocol):
    def load(self) -> Iterator[tuple[str, str, Any]]: ...
    def save(self, changes: Iterable[Change]) -> None: ...
    def clear(self) -> None: ...


class InMemory:
    """The default: nothing survives the process."""

    def load(self) -> Iterator[tuple[str, str, Any]]:
        return iter(())

    def save(self, changes: Iterable[Change]) -> None:
        return None

    def clear(self) -> None:
        return None


class SqliteFile:
    """One table of (kind, key, JSON body) rows, loaded in insertion order.

    Plain ``sqlite3`` rather than SQLAlchemy: importing SQLAlchemy alone costs ~0.4 s of the 2 s start-up
    budget, and this is four parameterised statements. WAL with ``synchronous=NORMAL`` survives a killed
    process (what tests do) without an fsync per request.
    """

    def __init__(self, url: str) -> None:
        prefix = "sqlite:///"
        if not url.startswith(prefix):
            raise ValueError("--state must be a sqlite:///path URL")
        self._conn = sqlite3.connect(url[len(prefix):] or ":memory:", check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS sandbox_records ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,"
            " UNIQUE (kind, key))")

    def load(self) -> Iterator[tuple[str, str, Any]]:
        rows = self._conn.execute("SELECT kind, key, body FROM sandbox_records ORDER BY seq").fetchall()
        for kind, key, body in rows:
            yield kind, key, json.loads(body)

    def save(self, changes: Iterable[Change]) -> None:
        with self._transaction():
            for kind, key, record in changes:
                if record is None:
                    self._conn.execute("DELETE FROM sandbox_records WHERE kind = ? AND key = ?", (kind, key))
                    continue
                body = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
                self._conn.execute(
                    "INSERT INTO sandbox_records (kind, key, body) VALUES (?, ?, ?)"
                    " ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body", (kind, key, body))

    def clear(self) -> None:
        with self._transaction():
            self._conn.execute("DELETE FROM sandbox_records")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def open_persistence(state_url: str | None) -> Persistence:
    return SqliteFile(state_url) if state_url else InMemory()
