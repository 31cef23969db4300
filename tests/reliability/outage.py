"""Take the session's real PostgreSQL server away and bring it back, as a database outage does.

``pg_ctl stop -m fast`` ends every session at once (clients see their connections die, new ones are refused);
the restart uses the very options the fixture started the server with, so later tests find it as before.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.postgres import PostgresServer


def stop(server: PostgresServer) -> None:
    _pg_ctl(server, "-m", "fast", "-w", "stop")


def start(server: PostgresServer) -> None:
    base = server.datadir.parent
    _pg_ctl(server, "-w", "-l", str(base / "server.log"), "-o",
            f"-h 127.0.0.1 -p {server.port} -k {base} -c fsync=off -c max_connections=200", "start")


def is_running(server: PostgresServer) -> bool:
    status = subprocess.run([*server.run_as, str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "status"],
                            capture_output=True, check=False)
    return status.returncode == 0


@contextmanager
def down(server: PostgresServer) -> Iterator[None]:
    """The server is stopped inside the block and running again after it, whatever happens."""
    stop(server)
    try:
        yield
    finally:
        ensure_running(server)


def ensure_running(server: PostgresServer) -> None:
    if not is_running(server):
        start(server)


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    result = subprocess.run([*server.run_as, str(server.bindir / "pg_ctl"), "-D", str(server.datadir), *args],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {result.stderr or result.stdout}")
