"""Start a real PostgreSQL server for the test session (PostgreSQL refuses to run as root, so as `postgres`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path:
    override = os.environ.get("LEXOFFICE_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install PostgreSQL 15 "
        "(Debian/Ubuntu: apt-get install postgresql-15; macOS: brew install postgresql@15) "
        "or set LEXOFFICE_PG_BINDIR. scripts/test.sh installs it for you on Debian/Ubuntu as root."
    )


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    run_as: list[str]

    @classmethod
    def start(cls) -> "PostgresServer":
        bindir = _pg_bindir()
        base = Path(tempfile.mkdtemp(prefix="lexoffice-pg-"))
        datadir = base / "data"
        run_as: list[str] = []
        if os.geteuid() == 0:
            run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(base, "postgres")
            os.chmod(base, 0o700)
        port = _free_port()
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
             "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True,
        )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-w", "-l", str(base / "server.log"),
             "-o", f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=200", "start"],
            check=True, capture_output=True,
        )
        return cls(bindir=bindir, datadir=datadir, port=port, run_as=run_as)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)
