"""A DAG run on a state database whose schema is older than the code: its tasks refuse with the one line that
says what to do, and nothing reaches Lexware; after `lexoffice db upgrade` the next run sends the draft once.
Real Airflow (dag.test), real HTTP to the sandbox, SQLite files."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lexoffice.cli import main as cli
from lexoffice.state import migrations
from tests.e2e.test_invoice_drafts_dag import invoice_posts, nightly
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
DAG_ID = "lexoffice_invoice_drafts"


def test_tasks_refuse_an_outdated_state_database_until_db_upgrade(world: World,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1")
    src.draft(fs, "d1", "c1", "k1")
    world.add_tenant("nord", company_id="c1")
    # As the last release without migrations left it (same tables, no version); not through world.state,
    # which upgrades.
    with world.engine(world.state_url).begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {migrations.VERSION_TABLE}"))

    refused = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(refused.state) == "failed", task_states(refused)
    log = capfd.readouterr()
    assert "OutdatedSchema" in log.out + log.err and "run `lexoffice db upgrade`" in log.out + log.err
    assert invoice_posts(world, "nord") == 0

    assert cli(["--state-url", world.state_url, "db", "upgrade"]) == 0
    sent = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(sent.state) == "success", task_states(sent)
    assert invoice_posts(world, "nord") == 1
    assert world.states("nord", "invoices") == {"draft:d1": "sent"}
