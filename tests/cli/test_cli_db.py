"""`lexoffice db upgrade` / `db current` / `init`, and what every other command says on an outdated schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lexoffice import cli
from lexoffice.state import migrations, schema
from lexoffice.state.db import schema_version, write_transaction
from tests.support.old_state import old_release

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_old_state_database_is_refused_until_db_upgrade(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEXOFFICE_DEBUG", raising=False)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = old_release(url)
    with write_transaction(engine) as conn:
        conn.execute(schema.tenants.insert().values(tenant_id="nord", name="Nordschutz GmbH", auth_mode="api_key",
                                                    lexoffice_conn_id="lexoffice_nord", connected=False,
                                                    created_at=NOW, updated_at=NOW))

    code, out, _ = _run(capsys, "--state-url", url, "db", "current")
    assert code == 1 and "schema none" in out and "lexoffice db upgrade" in out
    code, _, err = _run(capsys, "--state-url", url, "tenant", "list")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "`lexoffice db upgrade`" in err and "cannot open" not in err
    assert schema_version(engine) is None  # an ordinary command changed nothing

    code, out, _ = _run(capsys, "--state-url", url, "db", "upgrade")
    assert code == 0 and out.strip() == f"state database upgraded from schema none to {migrations.head()}"
    code, out, _ = _run(capsys, "--state-url", url, "init")
    assert code == 0 and out.strip() == f"state database ready (schema {migrations.head()})"
    code, out, _ = _run(capsys, "--state-url", url, "db", "current")
    assert code == 0 and "up to date" in out
    code, out, _ = _run(capsys, "--state-url", url, "tenant", "list")
    assert code == 0 and "nord" in out
    engine.dispose()


def test_init_on_a_new_database_and_a_first_tenant_add_both_create_the_schema(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "--state-url", f"sqlite:///{tmp_path / 'a.db'}", "init")
    assert code == 0 and out.strip() == f"state database created (schema {migrations.head()})"
    code, _, _ = _run(capsys, "--state-url", f"sqlite:///{tmp_path / 'b.db'}", "tenant", "add", "nord",
                      "--conn-id", "lexoffice_nord")
    assert code == 0
    code, out, _ = _run(capsys, "--state-url", f"sqlite:///{tmp_path / 'b.db'}", "db", "current")
    assert code == 0 and "up to date" in out
