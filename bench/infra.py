"""The real parts a run needs: a PostgreSQL server (given by URL) and the sandbox over HTTP.

``bench/run.sh`` starts a PostgreSQL server with PostgreSQL's own defaults (fsync on), as a production state
database runs, and passes its URL; the smoke test passes its session's server. The sandbox is started here
(``python -m sandbox``) unless ``--sandbox-url`` names a running one. Every database a run creates carries a
run prefix, so runs can share one server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


#: The sandbox stands in for Lexware's servers, which our own load does not slow down: when this run starts it,
#: it runs at this higher scheduling priority (if allowed), so that the benchmark's CPU-bound work and the other
#: processes on a shared machine delay its request handling less (a late stamp brings two arrivals closer).
SANDBOX_NICE = -10


@dataclass
class Sandbox:
    """The sandbox's base URL, its admin API, and its process when this run started it."""

    base_url: str
    process: subprocess.Popen[bytes] | None = None
    session: requests.Session = field(default_factory=requests.Session)
    priority: str = "not started here"

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.base_url}/_admin{path}", timeout=60, **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None


def _start_sandbox() -> Sandbox:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sandbox = Sandbox(f"http://127.0.0.1:{port}", process)
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid, SANDBOX_NICE)
        sandbox.priority = f"nice {SANDBOX_NICE}"
    except PermissionError:
        sandbox.priority = "nice 0 (raising its priority was not permitted)"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            sandbox.admin("GET", "/health")
            return sandbox
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox did not start within 60 s")


@dataclass
class Infra:
    postgres_url: str  # the server's maintenance database, for CREATE DATABASE
    sandbox: Sandbox
    prefix: str = field(default_factory=lambda: f"bench_{uuid.uuid4().hex[:6]}")

    def database(self, name: str) -> str:
        """A new, empty database on the server; returns its SQLAlchemy URL."""
        full = f"{self.prefix}_{name}"
        engine = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{full}"')
        finally:
            engine.dispose()
        return sa.make_url(self.postgres_url).set(database=full).render_as_string(hide_password=False)

    def postgres_settings(self) -> dict[str, str]:
        """The server settings that shape the figures (reported beside them)."""
        engine = sa.create_engine(self.postgres_url)
        try:
            with engine.connect() as conn:
                return {name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")}
        finally:
            engine.dispose()


@contextmanager
def provide(postgres_url: str, sandbox_url: str | None = None) -> Iterator[Infra]:
    """The given PostgreSQL server and sandbox, or a sandbox started (and stopped) here."""
    sandbox = Sandbox(sandbox_url.rstrip("/")) if sandbox_url else _start_sandbox()
    try:
        yield Infra(postgres_url=postgres_url, sandbox=sandbox)
    finally:
        if sandbox.process is not None:
            sandbox.process.terminate()
            sandbox.process.wait(10)
