"""A long delivery does not hold back the next night (issue 21 item 6), with real Airflow and the sandbox.

The DAGs run with max_active_runs=1 and catchup=False: a run still delivering when the next night is due keeps
the scheduler from creating that night's run, and afterwards only the latest interval runs, so a night's window
would never be staged. A delivery therefore stops starting requests when its time budget is spent (default 22 h,
below the daily schedule), ends successfully with the rest pending, and the next night's run stages its own
window and delivers the leftovers. Here the budget is made tiny to act that out. (Before: no budget existed; the
first run would simply have delivered everything, however long it took.)"""

from __future__ import annotations

import pytest

from lexoffice.delivery.budget import BUDGET_ENV, DEFAULT_BUDGET_SECONDS
from tests.e2e.test_invoice_drafts_dag import DAG_ID, invoice_posts, nightly
from tests.support import sources as src
from tests.support.world import World, task_states

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_delivery_over_its_budget_ends_and_the_next_night_delivers_the_rest(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = world.engine(world.fieldservice_url)
    src.company(fs, "c1")
    src.customer(fs, "k1", "c1", name="Bäckerei Müller & Söhne GmbH")
    for n in range(4):
        src.draft(fs, f"d{n}", "c1", "k1")
    src.draft(fs, "next", "c1", "k1", created="2026-10-06")
    world.add_tenant("nord", company_id="c1")

    monkeypatch.setenv(BUDGET_ENV, "0.001")  # spent before the first draft: the backlog outlasts the run
    first = world.run_dag(DAG_ID, logical_date=nightly("2026-10-05"))
    assert str(first.state) == "success", task_states(first)
    assert world.lexware("nord", "invoices") == []
    assert sorted(world.states("nord", "invoices").values()) == ["pending"] * 4, "left for the next run, not lost"

    monkeypatch.delenv(BUDGET_ENV)
    second = world.run_dag(DAG_ID, logical_date=nightly("2026-10-06"))
    assert str(second.state) == "success", task_states(second)
    states = world.states("nord", "invoices")
    assert states == {f"draft:{key}": "sent" for key in ("d0", "d1", "d2", "d3", "next")}, states
    remarks = [inv["remark"] for inv in world.lexware("nord", "invoices")]
    assert len(remarks) == invoice_posts(world, "nord") == 5, "each draft exactly once"
    for key in ("d0", "d1", "d2", "d3", "next"):
        assert sum(f"lxa:draft:{key}" in r or f"lxa:{key}" in r for r in remarks) == 1, (key, remarks)


def test_the_default_budget_ends_a_run_before_the_next_nightly_run_is_due() -> None:
    from tests.reliability.world import dag_for_test

    dag = dag_for_test(DAG_ID)
    assert dag.max_active_runs == 1 and not dag.catchup
    assert DEFAULT_BUDGET_SECONDS < 24 * 3600  # the nightly schedule's interval
