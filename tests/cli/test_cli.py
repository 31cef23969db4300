"""The `lexoffice` command as a person runs it: tenants, API-key and OAuth connects, disconnect, report."""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from lexoffice import cli
from lexoffice.state import tenants
from lexoffice.state.db import init_db, make_engine
from lexoffice.state.tokens import DbTokenStore
from tests.support.sandbox_server import SandboxServer
from tests.support.waiting import GENEROUS


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def run(state_url: str, *args: str) -> int:
    return cli.main(["--state-url", state_url, *args])


def test_api_key_tenant_connect_records_organisation_and_export_since(
        sandbox: SandboxServer, state_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    org = sandbox.admin("POST", "/organizations", json={"company_name": "Nordschutz GmbH"})
    monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_NORD", json.dumps(
        {"conn_type": "lexoffice", "host": sandbox.base_url, "password": org["api_key"]}))
    assert run(state_url, "tenant", "add", "nord", "--conn-id", "lexoffice_nord", "--invoice-company", "1") == 0
    assert run(state_url, "tenant", "connect", "nord", "--export-since", "2026-10-01") == 0
    out = capsys.readouterr().out
    assert "Nordschutz GmbH" in out and org["organization_id"] in out
    tenant = tenants.get_tenant(make_engine(state_url), "nord")
    assert tenant.connected and tenant.organization_id == org["organization_id"]
    assert tenant.export_since == date(2026, 10, 1)

    assert run(state_url, "tenant", "set-export-since", "nord", "2026-09-01") == 2
    assert "only move forward" in capsys.readouterr().err
    assert run(state_url, "tenant", "disconnect", "nord") == 0
    assert not tenants.get_tenant(make_engine(state_url), "nord").connected
    assert run(state_url, "tenant", "reconnect", "nord") == 0
    assert len(tenants.connection_periods(make_engine(state_url), "nord")) == 2
    # adding the same tenant again (as a script would) is a no-op, also without --export-since
    assert run(state_url, "tenant", "add", "nord", "--conn-id", "lexoffice_nord", "--invoice-company", "1") == 0
    assert run(state_url, "tenant", "update", "nord", "--invoice-company", "7") == 0
    assert tenants.get_tenant(make_engine(state_url), "nord").invoice_company_id == "7"
    assert run(state_url, "tenant", "list") == 0
    assert "nord" in capsys.readouterr().out
    assert org["api_key"] not in capsys.readouterr().out


def test_oauth_connect_through_the_consent_page_then_disconnect_revokes(
        sandbox: SandboxServer, state_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    org = sandbox.admin("POST", "/organizations", json={"company_name": "Rheinpflege GmbH & Co. KG"})
    port = _free_port()
    sandbox.admin("POST", "/oauth-clients", json={
        "client_id": "lexoffice-airflow", "client_secret": "s3cret-client",
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"]})
    monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_RHEIN", json.dumps({
        "conn_type": "lexoffice", "host": sandbox.base_url, "login": "lexoffice-airflow",
        "password": "s3cret-client"}))
    engine = make_engine(state_url)
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="rhein", name="Rheinpflege", lexoffice_conn_id="lexoffice_rhein",
                       bank_company_id="2", auth_mode="oauth")
    seen: dict[str, str] = {}

    def person_clicks_allow(authorize_url: str) -> None:
        seen["url"] = authorize_url
        def click() -> None:
            page = requests.get(authorize_url + f"&organization_id={org['organization_id']}", timeout=10)
            seen["page"] = page.text
            form = _Form()
            form.feed(page.text)
            answer = requests.post(sandbox.base_url + form.action, data={**form.fields, "decision": "allow"},
                                   timeout=10)
            seen["callback"] = answer.text
        threading.Thread(target=click, daemon=True).start()

    monkeypatch.setattr(cli.webbrowser, "open", person_clicks_allow)  # the browser the command opens
    assert run(state_url, "tenant", "connect", "rhein", "--port", str(port), "--timeout", "30") == 0
    assert "Zugriff erlauben" in seen["page"] and "Rheinpflege GmbH &amp; Co. KG" in seen["page"]
    query = dict(parse_qsl(urlsplit(seen["url"]).query))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43  # PKCE (issue 15)
    assert "Erfolgreich" in seen["callback"]
    record = DbTokenStore(engine).load("lexoffice_rhein")
    assert record is not None and record.refresh_token
    tenant = tenants.get_tenant(engine, "rhein")
    assert tenant.connected and tenant.organization_id == org["organization_id"]

    assert run(state_url, "tenant", "disconnect", "rhein") == 0
    assert DbTokenStore(engine).load("lexoffice_rhein") is None
    token = requests.post(f"{sandbox.base_url}/oauth2/token", auth=("lexoffice-airflow", "s3cret-client"),
                          data={"grant_type": "refresh_token", "refresh_token": record.refresh_token}, timeout=10)
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"  # revoked at Lexware
    if record.access_token:
        profile = requests.get(f"{sandbox.base_url}/v1/profile", timeout=10,
                               headers={"Authorization": f"Bearer {record.access_token}"})
        assert profile.status_code == 401


def test_oauth_callback_is_not_blocked_by_a_silent_connection() -> None:
    """A connection that never sends a request (a port scanner, a browser's pre-connect) times out on its own
    thread; the redirect that carries the code is served meanwhile (issue 15)."""
    callback = cli.OAuthCallback(0)
    silent = socket.create_connection(("127.0.0.1", callback.server.server_address[1]))
    try:
        good = requests.get(f"{callback.redirect_uri}?state={callback.expected_state}&code=xyz", timeout=30)
        assert good.status_code == 200
        assert callback.wait(30) == "xyz"
    finally:
        silent.close()
        callback.server.server_close()


@pytest.mark.parametrize("query", ["state=forged&code=abc", "code=abc", "state="])
def test_oauth_callback_rejects_a_wrong_or_missing_state(query: str) -> None:
    callback = cli.OAuthCallback(0)
    try:
        answer = requests.get(callback.redirect_uri + "?" + query, timeout=GENEROUS)
        assert answer.status_code == 400
        assert callback.code is None
        good = requests.get(f"{callback.redirect_uri}?state={callback.expected_state}&code=xyz", timeout=GENEROUS)
        assert good.status_code == 200
        assert callback.wait(GENEROUS) == "xyz"
    finally:
        callback.server.server_close()


def test_report_shows_state_lexware_id_datum_senden_and_reason(state_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import pendulum

    from lexoffice.documents import Reason, StagedDocument
    from lexoffice.state import outbox

    engine = make_engine(state_url)
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="nord", name="Nord", lexoffice_conn_id="x", invoice_company_id="1")
    when = pendulum.datetime(2026, 10, 5, 10, tz="UTC")
    ok = StagedDocument("draft:1", "h1", {"voucherDate": "x"}, (), "RE-1 (manual)", when)
    bad = StagedDocument("draft:2", "h2", None, (Reason("TITLE_TOO_LONG", "title", "Title over 25", "Titel zu lang"),),
                         "RE-2 (manual)", when)
    outbox.stage(engine, tenant_id="nord", stream="invoices", docs=[ok, bad])
    row = outbox.rows(engine, tenant_id="nord", stream="invoices", doc_keys=["draft:1"])[0]
    assert outbox.claim(engine, row.id)
    outbox.mark_sent(engine, row.id, lexware_id="inv-123", sent_at=pendulum.datetime(2026, 10, 6, 2, 5, tz="UTC"))

    assert run(state_url, "report", "--lang", "de") == 0
    out = capsys.readouterr().out
    assert "datum_senden" in out
    assert re.search(r"RE-1 \(manual\)\s+1\s+sent\s+inv-123\s+06\.10\.2026 04:05", out)
    assert re.search(r"RE-2 \(manual\)\s+2\s+invalid.*TITLE_TOO_LONG.*Titel zu lang", out)
    assert "nord · invoices: 1 sent" in out and "1 invalid" in out


def test_send_mode_on_add_and_update_and_in_the_list(state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(state_url, "tenant", "add", "neu", "--conn-id", "lexoffice_neu", "--invoice-company", "1") == 0
    assert run(state_url, "tenant", "add", "alle", "--conn-id", "lexoffice_alle", "--send-mode", "all") == 0
    engine = make_engine(state_url)
    assert tenants.send_mode(engine, "neu") == "requested"  # the default for new tenants
    assert tenants.send_mode(engine, "alle") == "all"
    assert run(state_url, "tenant", "update", "neu", "--send-mode", "all") == 0
    assert tenants.send_mode(engine, "neu") == "all"
    capsys.readouterr()
    assert run(state_url, "tenant", "list") == 0
    assert "send_mode" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run(state_url, "tenant", "update", "neu", "--send-mode", "manchmal")


def test_resend_puts_rejected_documents_back_and_says_what_it_left_alone(
        state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import pendulum

    from lexoffice.documents import StagedDocument
    from lexoffice.state import history, outbox

    engine = make_engine(state_url)
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="nord", name="Nord", lexoffice_conn_id="x", invoice_company_id="1")
    when = pendulum.datetime(2026, 10, 5, 10, tz="UTC")
    docs = [StagedDocument(f"draft:{i}", f"h{i}", {"voucherDate": "x"}, (), f"RE-{i} (manual)", when) for i in (1, 2)]
    outbox.stage(engine, tenant_id="nord", stream="invoices", docs=docs)
    first = outbox.rows(engine, tenant_id="nord", stream="invoices", doc_keys=["draft:1"])[0]
    assert outbox.claim(engine, first.id)
    outbox.mark_rejected(engine, first.id, reasons=[{"code": "lexware.406", "field": "address.contactId"}],
                         error="406")

    assert run(state_url, "resend", "nord", "1", "2") == 0
    out = capsys.readouterr().out
    assert "draft:1: -> pending" in out and "draft:2: unchanged: Status 'pending'" in out
    assert outbox.get_row(engine, first.id).state == "pending"
    (event,) = history.events(engine, tenant_id="nord", stream="invoices", doc_key="draft:1")
    assert event.kind == "resend" and "lexoffice resend" in (event.actor or "")
    assert run(state_url, "resend", "nord", "1") == 1  # nothing rejected any more: says so, changes nothing


def test_report_shows_long_reasons_in_full(state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import pendulum

    from lexoffice.documents import Reason, StagedDocument
    from lexoffice.state import outbox

    engine = make_engine(state_url)
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="nord", name="Nord", lexoffice_conn_id="x", invoice_company_id="1")
    long_de = ("Die Rechnungsadresse des Kunden ist unvollständig (es fehlt: Straße, PLZ). Ergänzen Sie Straße, "
               "Postleitzahl und Ort im Kundenstamm; danach wird der Entwurf in der nächsten Nacht gesendet.")
    reasons = (Reason("CUSTOMER_ADDRESS_INCOMPLETE", "customer.address", "x", long_de),
               Reason("TITLE_TOO_LONG", "title", "y", "Titel zu lang"))
    bad = StagedDocument("draft:2", "h2", None, reasons, "RE-2 (manual)", pendulum.datetime(2026, 10, 5, 10, tz="UTC"))
    outbox.stage(engine, tenant_id="nord", stream="invoices", docs=[bad])
    assert run(state_url, "report", "--lang", "de") == 0
    out = capsys.readouterr().out
    assert "…" not in out
    words = " ".join(out.split())
    assert " ".join(long_de.split()) in words and "Titel zu lang" in words
