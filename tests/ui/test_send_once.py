"""Double clicks and two people sending at once: one run per selection, and nothing twice in Lexware (the sandbox)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.world import World
from tests.ui.support import ui_runs

pytestmark = pytest.mark.e2e
DAG_ID = "lexoffice_invoice_drafts"
URL = "/lexoffice/api/tenants/acme/invoices/send"


def _clicks(app: Any, tokens: dict[str, str], selections: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """Every (role, ids) at the same moment, each from its own client (browser)."""
    from fastapi.testclient import TestClient

    start = threading.Barrier(len(selections))

    def click(role: str, ids: list[str]) -> dict[str, Any]:
        client = TestClient(app, base_url="http://127.0.0.1")
        start.wait()
        resp = client.post(URL, headers={"Authorization": f"Bearer {tokens[role]}"}, json={"document_ids": ids})
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    with ThreadPoolExecutor(len(selections)) as pool:
        return list(pool.map(lambda s: click(*s), selections))


def test_simultaneous_clicks_on_one_selection_create_one_run(client: Any, airflow_app: Any, drafts_world: World,
                                                             tokens: dict[str, str]) -> None:
    answers = _clicks(airflow_app, tokens, [("user", ["D1", "D2"]), ("admin", ["D2", "D1"])] * 3)
    assert len({a["run_id"] for a in answers}) == 1
    assert sum(a["created"] for a in answers) == 1
    assert len(ui_runs(DAG_ID)) == 1


def test_overlapping_selections_send_each_draft_once(client: Any, airflow_app: Any, drafts_world: World,
                                                     tokens: dict[str, str]) -> None:
    """Two people select overlapping drafts at once: two runs; running both (and the first again, as a re-send)
    leaves exactly one Lexware draft per valid document."""
    _clicks(airflow_app, tokens, [("user", ["D1", "D2"]), ("admin", ["D2", "D3"])])
    runs = ui_runs(DAG_ID)
    assert sorted(r.conf["document_ids"] for r in runs) == [["D1", "D2"], ["D2", "D3"]]
    for conf in [r.conf for r in runs] + [runs[0].conf]:
        drafts_world.run_dag(DAG_ID, conf=conf)
    invoices = drafts_world.lexware("acme", "invoices")
    references = sorted(ref for inv in invoices for ref in ("D1", "D2", "D3") if f"draft:{ref}" in inv["remark"])
    assert references == ["D1", "D2"]  # each valid draft exactly once; D3 (no customer) never
    states = drafts_world.states("acme", "invoices")
    assert states == {"draft:D1": "sent", "draft:D2": "sent", "draft:D3": "invalid"}
    from lexoffice.state import health

    assert health.get_all(drafts_world.state)["acme"].healthy  # the deliver task recorded Lexware's answer
    # "documents of this run" (the DAG-run view) lists the run's selection with outcome and reason
    second = next(r for r in runs if "D3" in r.conf["document_ids"])
    page = client.get(f"/lexoffice/run/{DAG_ID}/{second.run_id}",
                      headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert page.status_code == 200
    assert "RE-2" in page.text and "RE-3" in page.text and "RE-1" not in page.text
    assert "CUSTOMER_MISSING" in page.text and "gesendet" in page.text


def test_a_blocked_delivery_marks_the_connection_unhealthy(drafts_world: World) -> None:
    """The key was revoked in Lexware: the deliver task records the error for the page's indicator."""
    from lexoffice.state import health

    drafts_world.set_lexoffice_conn("acme", "revoked-key")
    run = drafts_world.run_dag(DAG_ID, conf={"tenant": "acme", "document_ids": ["D1"]})
    assert str(run.state) == "failed"
    state = health.get_all(drafts_world.state)["acme"]
    assert not state.healthy and state.last_error and state.last_error_at is not None
    assert "revoked-key" not in state.last_error
    assert drafts_world.lexware("acme", "invoices") == []
