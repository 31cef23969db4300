"""The page's routes through Airflow's real api-server app and auth manager (TestClient, no mocks)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.world import World
from tests.ui.support import ui_runs

INVOICES_DAG = "lexoffice_invoice_drafts"
pytestmark = pytest.mark.e2e


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_plugin_is_registered_through_the_entry_point(client: Any, tokens: dict[str, str]) -> None:
    resp = client.get("/api/v2/plugins", headers=_h(tokens, "admin"))
    assert resp.status_code == 200
    plugin = next(p for p in resp.json()["plugins"] if p["name"] == "lexoffice")
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/lexoffice"
    assert {v["destination"] for v in plugin["external_views"]} == {"nav", "dag_run"}


@pytest.mark.parametrize("method, path", [
    ("GET", "/lexoffice/"),
    ("GET", "/lexoffice/tenants/acme/invoices"),
    ("GET", "/lexoffice/run/lexoffice_invoice_drafts/x"),
    ("POST", "/lexoffice/api/tenants/acme/invoices/send"),
    ("POST", "/lexoffice/api/tenants/acme/export-since"),
    ("POST", "/lexoffice/api/tenants/acme/disconnect"),
    ("POST", "/lexoffice/api/tenants/acme/connect"),
    ("GET", "/lexoffice/oauth/start/acme"),
    ("GET", "/lexoffice/oauth/callback?state=x&code=y"),
])
def test_nothing_without_login(client: Any, drafts_world: World, method: str, path: str) -> None:
    resp = client.request(method, path, json={})
    assert resp.status_code == 401, resp.text


def test_rights_map_to_the_auth_manager(client: Any, drafts_world: World, tokens: dict[str, str]) -> None:
    # read: viewer and up
    assert client.get("/lexoffice/tenants/acme/invoices", headers=_h(tokens, "viewer")).status_code == 200
    # send: 'user' role may trigger runs, a viewer may not
    resp = client.post("/lexoffice/api/tenants/acme/invoices/send", headers=_h(tokens, "viewer"),
                       json={"document_ids": ["D1"]})
    assert resp.status_code == 403 and "Keine Berechtigung" in resp.json()["detail"]
    assert ui_runs(INVOICES_DAG) == []
    # tenant administration: connection rights ('op'), a 'user' may not
    for path, body in (("export-since", {"export_since": "2026-12-01"}), ("disconnect", {}), ("connect", {})):
        resp = client.post(f"/lexoffice/api/tenants/acme/{path}", headers=_h(tokens, "user"), json=body)
        assert resp.status_code == 403, (path, resp.text)
    assert client.get("/lexoffice/oauth/start/acme", headers=_h(tokens, "user"),
                      follow_redirects=False).status_code == 403


def test_documents_view_joins_source_and_outbox(client: Any, drafts_world: World, tokens: dict[str, str]) -> None:
    resp = client.get("/lexoffice/tenants/acme/invoices", headers=_h(tokens, "viewer"))
    assert resp.status_code == 200
    page = resp.text
    # nothing staged yet: every draft shows, as "nicht gesendet", German by default
    for number in ("RE-1", "RE-2", "RE-3"):
        assert number in page
    assert page.count("nicht gesendet</td>") == 3
    assert "An die Buchhaltung senden" not in page  # a viewer sees no send button
    english = client.get("/lexoffice/tenants/acme/invoices?lang=en", headers=_h(tokens, "viewer")).text
    assert english.count("not sent</td>") == 3


def test_send_creates_exactly_one_run_with_the_selection(client: Any, drafts_world: World,
                                                         tokens: dict[str, str]) -> None:
    url = "/lexoffice/api/tenants/acme/invoices/send"
    first = client.post(url, headers=_h(tokens, "user"), json={"document_ids": ["D2", "D1", "D1"]})
    assert first.status_code == 200, first.text
    assert first.json()["created"] is True and first.json()["paused"] is True  # DAGs start paused
    again = client.post(url, headers=_h(tokens, "user"), json={"document_ids": ["D1", "D2"]})  # double click
    assert again.json() == {**first.json(), "created": False}
    runs = ui_runs(INVOICES_DAG)
    assert len(runs) == 1
    assert runs[0].conf == {"tenant": "acme", "document_ids": ["D1", "D2"]}
    assert runs[0].run_type == "manual" and runs[0].triggering_user_name == "user-person"
    # the page never unpauses the DAG
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        assert session.get(DagModel, INVOICES_DAG).is_paused
    # the selected rows now show as queued
    page = client.get("/lexoffice/tenants/acme/invoices", headers=_h(tokens, "viewer")).text
    assert page.count("in Warteschlange</td>") == 2
    # the run's own view lists its selection before anything is staged
    run_page = client.get(f"/lexoffice/run/{INVOICES_DAG}/{runs[0].run_id}", headers=_h(tokens, "viewer")).text
    assert 'data-id="D1"' in run_page and 'data-id="D2"' in run_page and 'data-id="D3"' not in run_page


def test_send_refuses_an_empty_selection_and_json_only(client: Any, drafts_world: World,
                                                       tokens: dict[str, str]) -> None:
    url = "/lexoffice/api/tenants/acme/invoices/send"
    resp = client.post(url, headers=_h(tokens, "user"), json={"document_ids": []})
    assert resp.status_code == 400 and "document_ids" in resp.json()["detail"]
    resp = client.post(url, headers={**_h(tokens, "user"), "Content-Type": "text/plain"},
                       content='{"document_ids": ["D1"]}')
    assert resp.status_code in (415, 422)
    assert ui_runs(INVOICES_DAG) == []


def test_export_since_only_forward_with_the_cli_message(client: Any, drafts_world: World,
                                                        tokens: dict[str, str]) -> None:
    url = "/lexoffice/api/tenants/acme/export-since"
    resp = client.post(url, headers=_h(tokens, "op"), json={"export_since": "2026-09-01"})
    assert resp.status_code == 409
    assert "can only move forward" in resp.json()["detail"]
    resp = client.post(url, headers=_h(tokens, "op"), json={"export_since": "2026-10-15"})
    assert resp.status_code == 200 and resp.json()["export_since"] == "2026-10-15"


def test_tenants_view_health_indicator(client: Any, drafts_world: World, tokens: dict[str, str]) -> None:
    page = client.get("/lexoffice/", headers=_h(tokens, "viewer")).text
    assert "noch nicht geprüft" in page and "Verbindung prüfen" not in page  # viewer: no admin buttons
    assert "Mit API-Schlüssel verbinden" not in page
    resp = client.post("/lexoffice/api/tenants/acme/connect", headers=_h(tokens, "op"), json={})
    assert resp.status_code == 200, resp.text
    page = client.get("/lexoffice/", headers=_h(tokens, "op")).text
    assert "letzter erfolgreicher Aufruf" in page and "● verbunden" in page
    assert "Mit API-Schlüssel verbinden" in page and "Zugriff erlauben" not in page  # an API-key tenant
    drafts_world.set_lexoffice_conn("acme", "wrong-key")  # the key was revoked in Lexware

    resp = client.post("/lexoffice/api/tenants/acme/connect", headers=_h(tokens, "op"), json={})
    assert resp.status_code == 502
    page = client.get("/lexoffice/", headers=_h(tokens, "op")).text
    assert "gestört" in page and "letzter Fehler" in page and "wrong-key" not in page


def test_transactions_view_per_account(client: Any, world: World, tokens: dict[str, str]) -> None:
    from tests.support import sources

    world.add_tenant("finco", company_id="B1", streams=("transactions",))
    bank = world.engine(world.bank_url)
    sources.bank_customer(bank, "B1")
    sources.account(bank, "A1", "B1", "DE02120300000000202051")
    sources.account(bank, "A2", "B1", "DE02500105170137075030")
    sources.transaction(bank, "T1", "A1", amount=-42.5)
    sources.transaction(bank, "T2", "A2", amount=100.0)
    sources.transaction(bank, "T3", "A1", status="pending", completed=None)  # not a document yet
    page = client.get("/lexoffice/tenants/finco/transactions?account=A1", headers=_h(tokens, "viewer")).text
    assert "Stadtwerke Köln" in page and "-42,50 €" in page and "nicht gesendet" in page
    assert 'data-id="T1"' in page and 'data-id="T2"' not in page and 'data-id="T3"' not in page
    both = client.get("/lexoffice/tenants/finco/transactions", headers=_h(tokens, "viewer")).text
    assert 'data-id="T1"' in both and 'data-id="T2"' in both
    # a tenant without the invoice stream has no drafts view
    assert client.get("/lexoffice/tenants/finco/invoices", headers=_h(tokens, "viewer")).status_code == 404


def test_api_key_connect_stores_the_key_in_airflow(client: Any, world: World, tokens: dict[str, str]) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from lexoffice.state import tenants

    org = world.sandbox.admin("POST", "/organizations", json={"company_name": "Schlüssel GmbH"})
    tenants.add_tenant(world.state, tenant_id="keyco", name="Schlüssel GmbH", lexoffice_conn_id="lexoffice_keyco",
                       invoice_company_id="C7")
    with create_session() as session:  # as an admin created it under Admin -> Connections, with the sandbox host
        session.query(Connection).filter(Connection.conn_id == "lexoffice_keyco").delete()
        session.add(Connection(conn_id="lexoffice_keyco", conn_type="lexoffice", host=world.sandbox.base_url))
    world.monkeypatch.delenv("AIRFLOW_CONN_LEXOFFICE_KEYCO", raising=False)
    url = "/lexoffice/api/tenants/keyco/api-key"
    assert client.post(url, headers=_h(tokens, "user"), json={"api_key": org["api_key"]}).status_code == 403
    resp = client.post(url, headers=_h(tokens, "op"), json={"api_key": org["api_key"], "export_since": "2026-11-01"})
    assert resp.status_code == 200, resp.text
    assert org["api_key"] not in resp.text
    tenant = tenants.get_tenant(world.state, "keyco")
    assert tenant.connected and tenant.organization_id == org["organization_id"]
    assert str(tenant.export_since) == "2026-11-01"
    with create_session() as session:
        stored = session.query(Connection).filter(Connection.conn_id == "lexoffice_keyco").one()
        assert stored.password == org["api_key"]
    world.monkeypatch.delenv("AIRFLOW_CONN_LEXOFFICE_KEYCO", raising=False)
    # a connection the deployment defines in the environment is not changed from the page
    world.add_tenant("envco", company_id="C8", connect=False)
    resp = client.post("/lexoffice/api/tenants/envco/api-key", headers=_h(tokens, "op"), json={"api_key": "x"})
    assert resp.status_code == 409 and "AIRFLOW_CONN_LEXOFFICE_ENVCO" in resp.json()["detail"]


def test_links_keep_every_filter(client: Any, drafts_world: World, tokens: dict[str, str]) -> None:
    """Next page and language switch keep all chosen states (a query list), and pages follow the cursor."""
    import html
    import re

    from tests.support import sources

    for i in range(30):
        sources.draft(drafts_world.engine(drafts_world.fieldservice_url), f"E{i:02d}", "C1", "K1")
    page = client.get("/lexoffice/tenants/acme/invoices?state=not_sent&state=failed&page_size=25",
                      headers=_h(tokens, "viewer")).text
    assert page.count('class="doc"') == 25
    next_url = html.unescape(re.search(r'id="next" href="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    lang_url = html.unescape(re.search(r'id="language" href="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    for url in (next_url, lang_url):
        assert "state=not_sent" in url and "state=failed" in url
    assert "lang=en" in lang_url
    rest = client.get(f"/lexoffice/tenants/acme/invoices{next_url}", headers=_h(tokens, "viewer")).text
    first_ids = set(re.findall(r'data-id="([^"]+)"', page))
    rest_ids = set(re.findall(r'data-id="([^"]+)"', rest))
    assert len(rest_ids) == 33 - 25 and not first_ids & rest_ids


def test_column_headers_sort_and_keep_the_filters(client: Any, drafts_world: World, tokens: dict[str, str]) -> None:
    page = client.get("/lexoffice/tenants/acme/invoices?q=RE&state=not_sent", headers=_h(tokens, "viewer")).text
    links = dict(re.findall(r'data-sort="(\w+)" href="([^"]+)"', page))
    assert set(links) == {"number", "customer", "voucher_date", "gross", "state", "sent_at"}
    number_url = links["number"].replace("&amp;", "&")
    assert "sort=number" in number_url and "dir=asc" in number_url and "q=RE" in number_url
    assert "state=not_sent" in number_url and "cursor" not in number_url
    by_number = client.get(f"/lexoffice/tenants/acme/invoices{number_url}", headers=_h(tokens, "viewer")).text
    assert by_number.index("RE-1") < by_number.index("RE-2") < by_number.index("RE-3")
    assert "Sortiert nach: Nummer, aufsteigend" in by_number
    again = dict(re.findall(r'data-sort="(\w+)" href="([^"]+)"', by_number))["number"]
    assert "dir=desc" in again  # the current column's header reverses it
    desc = client.get(f"/lexoffice/tenants/acme/invoices{again.replace('&amp;', '&')}",
                      headers=_h(tokens, "viewer")).text
    assert desc.index("RE-3") < desc.index("RE-2") < desc.index("RE-1")
    bad = client.get("/lexoffice/tenants/acme/invoices?sort=amount", headers=_h(tokens, "viewer"))
    assert bad.status_code == 400 and "'sort'" in bad.json()["detail"]  # a transactions column


def test_a_sent_draft_deleted_in_lexware_can_be_selected_again(client: Any, drafts_world: World,
                                                               tokens: dict[str, str]) -> None:
    from lexoffice.state import lexware_status, outbox
    from tests.state.helpers import doc, row_id

    engine = drafts_world.state
    outbox.stage(engine, tenant_id="acme", stream="invoices", docs=[doc("draft:D1"), doc("draft:D2")])
    for key in ("draft:D1", "draft:D2"):
        rid = row_id(engine, "acme", "invoices", key)
        assert outbox.claim(engine, rid)
        outbox.mark_sent(engine, rid, lexware_id=f"lx-{key}")
    lexware_status.record(engine, tenant_id="acme", stream="invoices",
                          observations=[lexware_status.Observation("draft:D1", "lx-draft:D1", "deleted")])
    page = client.get("/lexoffice/tenants/acme/invoices", headers=_h(tokens, "user")).text
    boxes = dict(re.findall(r'<input type="checkbox" class="pick" value="(\w+)" ?(disabled)?', page))
    assert boxes == {"D1": "", "D2": "disabled", "D3": ""}  # sent D2 still exists in Lexware: not again


@pytest.mark.parametrize("base_path", ["/airflow", "/tools/airflow"])
def test_links_follow_the_api_servers_base_url(client: Any, drafts_world: World, tokens: dict[str, str],
                                               base_path: str) -> None:
    """Behind ``AIRFLOW__API__BASE_URL=https://host/airflow`` the api-server serves under that path (Starlette's
    root_path, as uvicorn and FastAPI set it): every link and script URL of the page carries it."""
    from fastapi.testclient import TestClient

    with TestClient(client.app, base_url="http://127.0.0.1", root_path=base_path) as behind:
        for path in ("/", "/tenants/acme/invoices", f"/run/{INVOICES_DAG}/x"):
            resp = behind.get(f"{base_path}/lexoffice{path}", headers=_h(tokens, "admin"))
            assert resp.status_code == 200, (path, resp.text)
            targets = re.findall(r'(?:href|action)="([^"?#][^"]*)"|"(/[^"]*/api/tenants/)', resp.text)
            absolute = [t for pair in targets for t in pair if t.startswith("/")]
            assert absolute, path
            assert all(t.startswith(f"{base_path}/lexoffice/") for t in absolute), (path, absolute)
        start = behind.get(f"{base_path}/lexoffice/oauth/start/acme", headers=_h(tokens, "admin"),
                           follow_redirects=False)
        assert start.status_code in (303, 400)  # an API-key tenant has no OAuth client: refused, not misrouted
