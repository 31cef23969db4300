"""What a person sees when the `lexoffice` command cannot do its job (issue 15): one line saying what, where
and what to do, exit code 2, no traceback; and the state file it creates is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from lexoffice import cli
from lexoffice.state.db import init_db, make_engine


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("url, where", [
    ("postgresql+psycopg://lexoffice:geheim@127.0.0.1:9/state", "postgresql+psycopg://lexoffice:***@127.0.0.1:9"),
    ("sqlite:////no/such/folder/state.db", "sqlite:////no/such/folder/state.db"),
    ("kein-url", "kein-url"),
    ("mysql://u@h/db", "mysql://u@h/db"),
], ids=["unreachable-postgres", "missing-sqlite-folder", "malformed", "unsupported"])
def test_an_unusable_state_database_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch,
                                                             url: str, where: str) -> None:
    monkeypatch.delenv("LEXOFFICE_DEBUG", raising=False)
    code, err = _run(capsys, "--state-url", url, "tenant", "list")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "geheim" not in err
    assert f"state database at {where}" in err and "then run again" in err


def test_a_tenant_id_longer_than_64_characters_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    code, err = _run(capsys, "--state-url", url, "tenant", "add", "t" * 65, "--conn-id", "lexoffice_x")
    assert code == 2 and "65 characters; at most 64" in err and len(err.strip().splitlines()) == 1
    code, _ = _run(capsys, "--state-url", url, "tenant", "add", "t" * 64, "--conn-id", "lexoffice_x")
    assert code == 0


def test_a_new_sqlite_state_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.begin() as conn:  # a write creates the WAL file beside it
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
    for file in (path, Path(f"{path}-wal")):
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file
    engine.dispose()
