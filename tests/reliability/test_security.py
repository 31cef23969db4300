"""Secrets stay secret through a full run, credentials never travel in clear text, and the OAuth callback only
accepts the ``state`` it handed out.

The secrets are known values (an API key, a wrong API key, an OAuth client secret, every refresh and access
token the run used), and the run takes the paths where a careless error message would leak them: a refused
key, a 504, an access token that expired and was refreshed. Then every place a person or a system can read is
searched byte for byte: what the process printed and logged, Airflow's task log folder, Airflow's metadata
database (XCom included), the state database file, and the report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.reliability.audit import audit
from tests.reliability.scenarios import invoice_batch, transaction_batch
from tests.reliability.world import ReliabilityWorld
from tests.support.waiting import GENEROUS

API_KEY = "lxw-api-key-0f3c9a71d2e84b5a9c6e1f00aa17b2c3"
WRONG_API_KEY = "lxw-api-key-revoked-5d1e2f3a4b5c6d7e8f90a1b2c3"
CLIENT_SECRET = "oauth-client-secret-7b2e91c4d5f6a7b8c9d0e1f2"


def _scan_targets(world: ReliabilityWorld, captured: str) -> dict[str, str]:
    """Every place that outlives the run, as text (files read as bytes, decoded leniently)."""
    from airflow import settings

    from lexoffice import cli
    from lexoffice import report as reporting

    home = Path(settings.AIRFLOW_HOME)
    places = {"process output and log records": captured}
    places["Airflow task log folder"] = "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in (home / "logs").rglob("*") if p.is_file())
    with settings.engine.connect() as conn:
        xcom = [str(v) for (v,) in conn.execute(sa.text("SELECT value FROM xcom"))]
    assert xcom, "no XCom was written: the scan would prove nothing"
    places["XCom table"] = "\n".join(xcom)
    for name, url in (("Airflow metadata DB file", settings.SQL_ALCHEMY_CONN), ("state DB file", world.state_url)):
        places[name] = _sqlite_bytes(url)
    reports = [reporting.run_report(world.state, tenant_id=t, stream=s, stage=None, delivery=None)
               for t in world.tenants for s in ("invoices", "transactions")]
    places["report"] = "\n".join(reports)
    assert cli.main(["--state-url", world.state_url, "report"]) == 0
    return places


def _sqlite_bytes(url: str) -> str:
    path = Path(url.split("///", 1)[1])
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return "\n".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_no_secret_in_logs_exceptions_xcom_or_reports(world: ReliabilityWorld, caplog: pytest.LogCaptureFixture,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    invoices = invoice_batch(world, "keyed")
    world.sandbox.admin("POST", f"/organizations/{world.tenants['keyed'].org_id}/api-keys", json={"api_key": API_KEY})
    world.tenants["keyed"].api_key = API_KEY
    world.set_lexoffice_conn("keyed", API_KEY)
    invoice_batch(world, "refused")
    world.set_lexoffice_conn("refused", WRONG_API_KEY)  # a key Lexware does not know: 401 on the first call
    transactions = transaction_batch(world, "oauthsec", add_tenant=False)
    world.add_oauth_tenant("oauthsec", company_id="b-oauthsec", client_secret=CLIENT_SECRET,
                           streams=("transactions",))
    first_tokens = world.stored_token("oauthsec")
    world.inject(mode="after_commit", status=504, method="POST", path="/v1/invoices", count=1)
    world.sandbox.admin("POST", "/oauth/expire-access-tokens")  # the OAuth tenant must refresh (and rotate)

    invoice_run = world.run_dag(invoices.dag_id, **invoices.run_kwargs())
    transaction_run = world.run_dag(transactions.dag_id, **transactions.run_kwargs())

    assert str(invoice_run.state) == "failed"  # the refused tenant is blocked, so the run alerts
    assert str(transaction_run.state) == "success"
    last_tokens = world.stored_token("oauthsec")
    assert last_tokens.refresh_token != first_tokens.refresh_token, "no refresh happened: a path went untested"
    refused = [m for status, m in world.run_messages("refused", "invoices") if status == "blocked"]
    assert refused and "refused the credentials" in refused[0], world.run_messages("refused", "invoices")
    secrets = {
        "API key": API_KEY, "wrong API key": WRONG_API_KEY, "client secret": CLIENT_SECRET,
        "first refresh token": first_tokens.refresh_token, "rotated refresh token": last_tokens.refresh_token,
        "first access token": first_tokens.access_token, "refreshed access token": last_tokens.access_token,
    }

    out, err = capfd.readouterr()
    places = _scan_targets(world, "\n".join([out, err, caplog.text]))
    out, err = capfd.readouterr()  # what the report command printed
    places["lexoffice report output"] = out + err
    # Each place was really read: it holds something the run wrote there (the task log folder may be empty:
    # dag.test() logs to the process, which is captured above).
    for place, marker in (("process output and log records", "Lexware Office report for tenant keyed"),
                          ("XCom table", "keyed"), ("Airflow metadata DB file", "lexoffice_invoice_drafts"),
                          ("state DB file", "draft:keyed-d1"), ("report", "keyed"),
                          ("lexoffice report output", "keyed")):
        assert marker in places[place], f"{place} does not hold {marker!r}: the scan would prove nothing"
    leaks = [f"{secret} in {place}" for secret, value in secrets.items() for place, text in places.items()
             if value and value in text]
    assert not leaks, leaks

    outcome = audit(world, "keyed", "invoices", case="security: secrets after a full run with failures",
                    valid=invoices.valid, invalid=invoices.invalid)
    outcome.notes.append(f"{len(secrets)} secrets searched in {len(places)} places, found in none")
    outcome.check(expected_reasons=invoices.invalid.values())


def test_plain_http_to_a_host_that_is_not_loopback_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from lexoffice.client import OAuth2Auth, exchange_code
    from lexoffice.client.auth import MemoryTokenStore
    from lexoffice.client.errors import InsecureTransportError
    from lexoffice.provider.hooks import LexofficeHook

    monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_CLEARTEXT",
                       '{"conn_type": "lexoffice", "host": "http://api.lexware.example", "password": "%s"}' % API_KEY)
    with pytest.raises(InsecureTransportError, match="plain http"):
        LexofficeHook("lexoffice_cleartext").get_client()
    with pytest.raises(InsecureTransportError, match="plain http"):
        OAuth2Auth(token_url="http://auth.lexware.example/oauth2/token", client_id="app",
                   client_secret=CLIENT_SECRET, store=MemoryTokenStore(), store_key="k")
    with pytest.raises(InsecureTransportError, match="plain http"):
        exchange_code(token_url="http://auth.lexware.example/oauth2/token", client_id="app",
                      client_secret=CLIENT_SECRET, code="abc", redirect_uri="http://127.0.0.1:1/callback")


def test_oauth_callback_rejects_a_wrong_or_missing_state() -> None:
    from lexoffice.cli import OAuthCallback

    callback = OAuthCallback(port=0)
    url = callback.redirect_uri
    wrong = requests.get(url, params={"code": "stolen-code", "state": "guessed-state"}, timeout=GENEROUS)
    missing = requests.get(url, params={"code": "stolen-code"}, timeout=GENEROUS)
    assert (wrong.status_code, missing.status_code) == (400, 400)
    assert callback.code is None
    right = requests.get(url, params={"code": "the-real-code", "state": callback.expected_state}, timeout=GENEROUS)
    assert right.status_code == 200
    assert callback.wait(timeout=GENEROUS) == "the-real-code"
