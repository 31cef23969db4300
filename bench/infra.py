"""The real parts a run needs: a PostgreSQL server and the sandbox over HTTP.

By default both are started here, the way the tests start them (tests/support). ``--postgres-url`` and
``--sandbox-url`` use running ones instead (the smoke test passes its session's servers). Every database a
run creates carries a run prefix, so runs can share one server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import sqlalchemy as sa

from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import SandboxServer


@dataclass
class RemoteSandbox:
    """A sandbox someone else started: the same admin calls as ``SandboxServer``, no process."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    process: Any = None

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.base_url}/_admin{path}", timeout=30, **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None


@dataclass
class Infra:
    postgres_url: str               # the server's maintenance database, for CREATE DATABASE
    sandbox: SandboxServer | RemoteSandbox
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


@contextmanager
def provide(postgres_url: str | None = None, sandbox_url: str | None = None) -> Iterator[Infra]:
    """Start what was not given; stop what was started."""
    with ExitStack() as stack:
        if postgres_url is None:
            server = PostgresServer.start()
            stack.callback(server.stop)
            postgres_url = server.url()
        if sandbox_url is None:
            sandbox: SandboxServer | RemoteSandbox = SandboxServer.start()
            stack.callback(sandbox.stop)
        else:
            sandbox = RemoteSandbox(sandbox_url.rstrip("/"))
        yield Infra(postgres_url=postgres_url, sandbox=sandbox)
