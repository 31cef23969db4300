"""``lexoffice``: the commands a person runs: set up the state database, manage tenants and their connection
(connect with an API key or OAuth, disconnect, reconnect), move export-since forward, and read the report."""

from __future__ import annotations

import argparse
import getpass
import html
import logging
import os
import secrets
import sys
import threading
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pendulum

log = logging.getLogger("lexoffice.cli")


# -- state database ----------------------------------------------------------------------------------------------
def _state_engine(args: argparse.Namespace, *, upgrade: bool = False, check: bool = True) -> Any:
    """The state database; ``upgrade`` applies pending migrations, otherwise its schema must be current (a new,
    empty database gets its tables: the first command on a new installation is often ``tenant add``), unless
    ``check`` is off (``db current`` only reads the version)."""
    from lexoffice.provider import connections
    from lexoffice.state.db import OutdatedSchema, init_db, make_engine, require_current_schema

    url = args.state_url or os.environ.get("LEXOFFICE_STATE_URL")
    where = _where(url) if url else f"the Airflow connection {connections.STATE_CONN_ID!r}"
    try:
        engine = make_engine(url) if url else connections.engine_for(connections.STATE_CONN_ID)
        if upgrade:
            init_db(engine)
        elif check:
            require_current_schema(engine, create_if_new=True)
    except OutdatedSchema:
        raise
    except Exception as err:  # noqa: BLE001 - becomes one line that says where and what to do
        raise StateDatabaseUnavailable(where, err) from err
    return engine


class StateDatabaseUnavailable(RuntimeError):
    """The state database cannot be opened: one line saying which one, why, and what to do."""

    def __init__(self, where: str, cause: BaseException) -> None:
        super().__init__(f"cannot open the state database at {where}: {_first_line(cause)}. Check that the "
                         "database runs, that the folder of a SQLite file exists, and the URL (--state-url, "
                         "LEXOFFICE_STATE_URL or the Airflow connection lexoffice_state), then run again")


def _where(url: str) -> str:
    """The URL without its password (what a person needs to find the database)."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as far as it is safe
        return url.split("@")[-1] if "@" in url else url


def _first_line(err: BaseException, limit: int = 200) -> str:
    """The first line of an error message (drivers append SQL, hints and links on further lines)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:limit]


# -- OAuth callback ----------------------------------------------------------------------------------------------
class OAuthCallback:
    """A one-shot local HTTP server that receives Lexware's redirect and checks ``state`` (CSRF protection).

    Each connection is served in its own thread and gives up after ``READ_TIMEOUT`` seconds of silence: a
    port scanner or a browser's idle pre-connect must not block the one request that carries the code.
    """

    READ_TIMEOUT = 10.0

    def __init__(self, port: int = 0) -> None:
        self.expected_state = secrets.token_urlsafe(24)
        self.code: str | None = None
        self._done = threading.Event()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            timeout = self.READ_TIMEOUT  # socket timeout per connection (StreamRequestHandler)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                query = parse_qs(urlparse(self.path).query)
                state = (query.get("state") or [""])[0]
                code = (query.get("code") or [""])[0]
                if urlparse(self.path).path != "/callback":
                    self._answer(404, "Not found")
                elif not state or not secrets.compare_digest(state, callback.expected_state):
                    self._answer(400, "Ungültiger oder fehlender state-Parameter: die Anmeldung wurde abgelehnt. "
                                      "(Invalid or missing state: the authorisation was refused.)")
                elif not code:
                    self._answer(400, "Kein Autorisierungscode erhalten. (No authorisation code received.)")
                else:
                    callback.code = code
                    self._answer(200, "Erfolgreich mit Lexware Office verbunden. Sie können dieses Fenster "
                                      "schließen. (Connected; you may close this window.)")
                    callback._done.set()

            def _answer(self, status: int, text: str) -> None:
                body = f"<html><body><p>{html.escape(text)}</p></body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep codes out of logs
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> str:
        try:
            if not self._done.wait(timeout):
                raise SystemExit(f"no authorisation arrived within {timeout:.0f} s; run the command again")
            assert self.code is not None
            return self.code
        finally:
            self.server.shutdown()
            self.server.server_close()


def ensure_connection_visible(conn_id: str) -> None:
    """Make a connection stored in Airflow's metadata DB (UI, `airflow connections add`) visible to this process.

    Outside a task, Airflow 3's SDK reads connections from environment variables and secrets backends only; the
    core model still looks in the metastore, so we copy the connection into this process's environment.
    """
    env_key = f"AIRFLOW_CONN_{conn_id.upper()}"
    if env_key in os.environ:
        return
    try:
        from airflow.models.connection import Connection as StoredConnection

        conn = StoredConnection.get_connection_from_secrets(conn_id)
    except Exception as err:  # noqa: BLE001 - any lookup failure becomes one clear line
        raise LookupError(
            f"Airflow connection {conn_id!r} was not found (looked in the environment, the secrets backend and "
            "the metadata database). Create it in the UI or with `airflow connections add --conn-json ...`."
        ) from err
    os.environ[env_key] = conn.as_json()


def _hook_conn(conn_id: str) -> Any:
    from lexoffice.provider.hooks import LexofficeHook

    ensure_connection_visible(conn_id)
    return LexofficeHook.get_connection(conn_id)


@dataclass(frozen=True)
class OAuthSettings:
    """Where and as whom to ask Lexware for consent: from the tenant's Airflow connection."""

    client_id: str
    client_secret: str
    urls: dict[str, str]
    allow_insecure_http: bool


def oauth_settings(conn_id: str) -> OAuthSettings:
    from lexoffice.client import default_oauth_urls
    from lexoffice.provider.hooks import api_base_url
    from lexoffice.settings import as_bool

    conn = _hook_conn(conn_id)
    if not conn.login:
        raise LookupError(f"connection {conn_id!r} has no OAuth client id (login); use an API key "
                         "connection or add the client id and secret")
    extra = conn.extra_dejson
    urls = default_oauth_urls(api_base_url(conn.host, conn.port))
    if extra.get("oauth_token_url"):
        urls["token"] = extra["oauth_token_url"]
    return OAuthSettings(conn.login, conn.password, urls, as_bool(extra.get("allow_insecure_http")))


def oauth_connect(engine: Any, tenant: Any, *, port: int, open_browser: bool, timeout: float,
                  on_authorize_url: Any = None) -> None:
    """Send the person to Lexware's consent page ("Zugriff erlauben"), take the code, store the tokens."""
    from lexoffice.client import exchange_code
    from lexoffice.client.auth import pkce_challenge
    from lexoffice.state.tokens import DbTokenStore

    settings = oauth_settings(tenant.lexoffice_conn_id)
    callback = OAuthCallback(port)
    verifier = secrets.token_urlsafe(64)  # PKCE (S256): a code intercepted on its way back is useless alone
    authorize_url = settings.urls["authorize"] + "?" + urlencode({
        "client_id": settings.client_id, "redirect_uri": callback.redirect_uri, "response_type": "code",
        "state": callback.expected_state, "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    })
    print(f"Open this address, sign in to Lexware Office and click 'Zugriff erlauben':\n  {authorize_url}")
    if on_authorize_url:
        on_authorize_url(authorize_url)
    elif open_browser:
        webbrowser.open(authorize_url)
    code = callback.wait(timeout)
    record = exchange_code(token_url=settings.urls["token"], client_id=settings.client_id,
                           client_secret=settings.client_secret, code=code, redirect_uri=callback.redirect_uri,
                           code_verifier=verifier, allow_insecure_http=settings.allow_insecure_http)
    DbTokenStore(engine).save(tenant.lexoffice_conn_id, record)
    print("Authorisation received; the refresh token is stored encrypted in the state database.")


def _profile(engine: Any, tenant: Any) -> dict[str, Any]:
    from lexoffice.provider.connections import client_factory

    ensure_connection_visible(tenant.lexoffice_conn_id)
    client = client_factory(engine)(tenant)
    try:
        return client.get_profile()
    finally:
        client.close()


def record_connect(engine: Any, tenant: Any, export_since: date | None) -> tuple[Any, dict[str, Any]]:
    """Ask Lexware who the credentials belong to, then record the (re)connect (organisation, export-since)."""
    from lexoffice.state import health, tenants

    profile = _profile(engine, tenant)
    health.record_ok(engine, tenant.tenant_id)
    tenant = tenants.record_connect(engine, tenant.tenant_id, organization_id=profile["organizationId"],
                                    at=pendulum.now("UTC"), export_since=export_since)
    return tenant, profile


def revoke_oauth(engine: Any, tenant: Any) -> bool:
    """Revoke a tenant's OAuth authorisation at Lexware and forget its tokens; False if there was none."""
    if tenant.auth_mode != "oauth":
        return False
    from lexoffice.client import revoke_authorization
    from lexoffice.state.tokens import DbTokenStore

    store = DbTokenStore(engine)
    record = store.load(tenant.lexoffice_conn_id)
    if record is None:
        return False
    settings = oauth_settings(tenant.lexoffice_conn_id)
    revoke_authorization(revoke_url=settings.urls["revoke"], client_id=settings.client_id,
                         client_secret=settings.client_secret, refresh_token=record.refresh_token,
                         allow_insecure_http=settings.allow_insecure_http)
    store.delete(tenant.lexoffice_conn_id)
    return True


# -- commands ----------------------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    """``lexoffice init`` and ``lexoffice db upgrade``: create the tables, or apply the pending migrations."""
    from lexoffice.state.db import schema_version

    import sqlalchemy as sa

    engine = _state_engine(args, check=False)
    before, empty = schema_version(engine), not sa.inspect(engine).get_table_names()
    after = schema_version(_state_engine(args, upgrade=True))
    if before == after:
        print(f"state database ready (schema {after})")
    elif empty:
        print(f"state database created (schema {after})")
    else:
        print(f"state database upgraded from schema {before or 'none'} to {after}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from lexoffice.state import migrations
    from lexoffice.state.db import schema_version

    found, wanted = schema_version(_state_engine(args, check=False)), migrations.head()
    print(f"schema {found or 'none'}; this version needs {wanted}: "
          + ("up to date" if found == wanted else "run `lexoffice db upgrade`"))
    return 0 if found == wanted else 1


def cmd_tenant_add(args: argparse.Namespace) -> int:
    from lexoffice.state import tenants

    engine = _state_engine(args)
    export_since = date.fromisoformat(args.export_since) if args.export_since else None
    try:
        existing = tenants.get_tenant(engine, args.tenant_id)
        export_since = export_since or existing.export_since  # not given: keep what the tenant has
    except tenants.TenantNotFound:
        pass
    tenant = tenants.add_tenant(
        engine, tenant_id=args.tenant_id, name=args.name or args.tenant_id, lexoffice_conn_id=args.conn_id,
        invoice_company_id=args.invoice_company, bank_company_id=args.bank_company,
        export_since=export_since, auth_mode="oauth" if args.oauth else "api_key", send_mode=args.send_mode,
    )
    if args.send_mode:
        tenants.set_send_mode(engine, tenant.tenant_id, args.send_mode)  # also for a tenant that existed
    mode = tenants.send_mode(engine, tenant.tenant_id)
    print(f"tenant {tenant.tenant_id} ({tenant.name}) sends {_send_mode_text(mode)}")
    print(f"tenant {tenant.tenant_id} ({tenant.name}) uses connection {tenant.lexoffice_conn_id}; "
          f"connect it with `lexoffice tenant connect {tenant.tenant_id}`")
    return 0


def _send_mode_text(mode: str) -> str:
    if mode == "requested":
        return "only drafts marked 'An die Buchhaltung senden' (send mode 'requested')"
    return "every valid draft of the night (send mode 'all')"


def cmd_tenant_update(args: argparse.Namespace) -> int:
    from lexoffice.state import tenants

    engine = _state_engine(args)
    if args.send_mode:
        tenants.set_send_mode(engine, args.tenant_id, args.send_mode)
        print(f"tenant {args.tenant_id} sends {_send_mode_text(args.send_mode)}")
    tenant = tenants.update_tenant(
        engine, args.tenant_id, name=args.name, lexoffice_conn_id=args.conn_id,
        invoice_company_id=args.invoice_company, bank_company_id=args.bank_company,
        auth_mode=("oauth" if args.oauth else "api_key") if args.oauth is not None else None,
    )
    print(f"tenant {tenant.tenant_id} updated: connection {tenant.lexoffice_conn_id}, invoice company "
          f"{tenant.invoice_company_id or '-'}, bank company {tenant.bank_company_id or '-'}")
    return 0


def cmd_tenant_list(args: argparse.Namespace) -> int:
    from lexoffice.report import format_table
    from lexoffice.state import tenants

    engine = _state_engine(args)
    rows = [{
        "tenant": t.tenant_id, "name": t.name, "connection": t.lexoffice_conn_id, "auth": t.auth_mode,
        "connected": "yes" if t.connected else "no", "organisation": t.organization_id or "",
        "export_since": t.export_since or "", "invoices": t.invoice_company_id or "",
        "transactions": t.bank_company_id or "", "send_mode": tenants.send_mode(engine, t.tenant_id),
    } for t in tenants.list_tenants(engine)]
    cols = ["tenant", "name", "connection", "auth", "connected", "organisation", "export_since", "invoices",
            "transactions", "send_mode"]
    print(format_table(rows, cols) if rows else "no tenants yet; add one with `lexoffice tenant add`")
    return 0


def cmd_tenant_connect(args: argparse.Namespace) -> int:
    from lexoffice.state import tenants

    engine = _state_engine(args)
    tenant = tenants.get_tenant(engine, args.tenant_id)
    if tenant.auth_mode == "oauth":
        oauth_connect(engine, tenant, port=args.port, open_browser=not args.no_browser, timeout=args.timeout)
    tenant, profile = record_connect(engine, tenant,
                                     date.fromisoformat(args.export_since) if args.export_since else None)
    print(f"tenant {tenant.tenant_id} connected to {profile.get('companyName')!r} "
          f"(organisation {profile['organizationId']}); export since {tenant.export_since}")
    return 0


def cmd_tenant_disconnect(args: argparse.Namespace) -> int:
    from lexoffice.state import tenants

    engine = _state_engine(args)
    tenant = tenants.get_tenant(engine, args.tenant_id)
    if revoke_oauth(engine, tenant):
        print("authorisation revoked at Lexware Office")
    tenants.record_disconnect(engine, tenant.tenant_id, at=pendulum.now("UTC"))
    print(f"tenant {tenant.tenant_id} disconnected: runs keep staging but send nothing until "
          f"`lexoffice tenant reconnect {tenant.tenant_id}`")
    return 0


def cmd_set_export_since(args: argparse.Namespace) -> int:
    from lexoffice.state import tenants

    tenant = tenants.set_export_since(_state_engine(args), args.tenant_id, date.fromisoformat(args.date))
    print(f"tenant {tenant.tenant_id}: export since {tenant.export_since}")
    return 0


def cmd_resend(args: argparse.Namespace) -> int:
    """Send again what a person chose: rejected documents, and drafts deleted in Lexware (outbox.resend)."""
    from lexoffice.state import outbox, tenants
    from lexoffice.streams import spec_of

    engine = _state_engine(args)
    tenants.get_tenant(engine, args.tenant_id)  # a clear error for an unknown tenant
    key_of = spec_of(args.stream).doc_key
    keys = [key_of(i) for i in args.ids]
    result = outbox.resend(engine, tenant_id=args.tenant_id, stream=args.stream, doc_keys=keys,
                           actor=f"lexoffice resend ({getpass.getuser()})")
    for key in result.moved:
        print(f"{key}: -> pending; sent by the next run (der nächste Lauf sendet ihn)")
    for key, why in result.refused.items():
        print(f"{key}: unchanged: {why} (see `lexoffice report --tenant {args.tenant_id}`)")
    return 0 if result.moved else 1


def cmd_report(args: argparse.Namespace) -> int:
    from lexoffice.report import document_rows, format_table, state_counts, summary_line
    from lexoffice.state import tenants

    engine = _state_engine(args)
    streams = [args.stream] if args.stream else ["invoices", "transactions"]
    if args.page < 1 or args.limit < 0:
        print("--page starts at 1 and --limit must not be negative (e.g. --page 2 --limit 100)", file=sys.stderr)
        return 2
    page_size = args.limit or None
    offset = (args.page - 1) * args.limit if page_size else 0
    # one row more than the page tells whether another page follows, without counting the whole outbox
    rows = document_rows(engine, tenant_ids=[args.tenant] if args.tenant else None, streams=streams,
                         states=args.state or None, language=args.lang, offset=offset,
                         limit=page_size + 1 if page_size else None)
    shown = rows[:page_size] if page_size else rows
    print(format_table(shown) if shown else ("no documents on this page" if args.page > 1 else "no documents yet"))
    if len(shown) < len(rows):
        print(f"… more on the next page: --page {args.page + 1} --limit {args.limit}")
    print()
    for tenant in tenants.list_tenants(engine):
        if args.tenant and tenant.tenant_id != args.tenant:
            continue
        for stream in streams:
            print(summary_line(tenant.tenant_id, stream, state_counts(engine, tenant_id=tenant.tenant_id,
                                                                        stream=stream)))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """List every document present more than once in Lexware; exit 1 when there is any (for cron/alerting)."""
    from lexoffice.provider.connections import client_factory
    from lexoffice.delivery import audit
    from lexoffice.state import tenants
    from lexoffice.streams import SPECS

    engine = _state_engine(args)
    found = 0
    for tenant in tenants.list_tenants(engine):
        if args.tenant and tenant.tenant_id != args.tenant:
            continue
        if not tenant.organization_id:
            print(f"{tenant.tenant_id}: never connected; nothing to audit")
            continue
        ensure_connection_visible(tenant.lexoffice_conn_id)
        client = client_factory(engine)(tenant)
        try:
            since = date.fromisoformat(args.since) if args.since else None
            results = [audit.audit(engine, client, tenant, spec.stream, created_from=since)
                       for spec in SPECS.values()
                       if spec.company_id(tenant) and args.stream in (None, spec.stream.value)]
        finally:
            client.close()
        for result in results:
            found += len(result.duplicates)
            print("\n".join(audit.describe(result)))
    return 1 if found else 0


def cmd_tenant_writeback(args: argparse.Namespace) -> int:
    from lexoffice.followup import writeback

    writeback.set_enabled(_state_engine(args), args.tenant_id, args.on)
    state = "an" if args.on else "aus"
    print(f"tenant {args.tenant_id}: Rückschreiben des Lexware-Status in die Tabelle {writeback.TABLE} der "
          f"Außendienst-Datenbank ist {state} (write-back {'on' if args.on else 'off'})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexoffice", description=__doc__)
    parser.add_argument("--state-url", help="SQLAlchemy URL of the state database (default: env "
                        "LEXOFFICE_STATE_URL, else the Airflow connection lexoffice_state)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create the state database tables, or upgrade them (= db upgrade)"
                   ).set_defaults(func=cmd_init)
    db = sub.add_parser("db", help="the state database's schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the pending schema migrations (after installing a new version)"
                  ).set_defaults(func=cmd_init)
    db.add_parser("current", help="show the schema version (exit 1 if `db upgrade` is needed)"
                  ).set_defaults(func=cmd_db_current)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="tenant_command", required=True)
    add = tenant.add_parser("add", help="add a tenant (idempotent)")
    add.add_argument("tenant_id")
    add.add_argument("--name")
    add.add_argument("--conn-id", required=True, help="Airflow connection (type lexoffice) of this tenant")
    add.add_argument("--invoice-company", help="company id in the field-service source (enables invoice drafts)")
    add.add_argument("--bank-company", help="company id in the bank source (enables transactions)")
    add.add_argument("--export-since", help="YYYY-MM-DD; default: the first connect date")
    add.add_argument("--oauth", action="store_true", help="the connection is an OAuth client (partner app)")
    add.add_argument("--send-mode", choices=["requested", "all"],
                     help="which drafts nightly runs send (default for a new tenant: requested, see docs/sources.md)")
    add.set_defaults(func=cmd_tenant_add)
    upd = tenant.add_parser("update", help="change a tenant's name, connection or company ids")
    upd.add_argument("tenant_id")
    upd.add_argument("--name")
    upd.add_argument("--conn-id")
    upd.add_argument("--invoice-company")
    upd.add_argument("--bank-company")
    upd.add_argument("--oauth", action=argparse.BooleanOptionalAction, default=None)
    upd.add_argument("--send-mode", choices=["requested", "all"],
                     help="requested: nightly runs send drafts marked 'An die Buchhaltung senden'; all: every "
                          "valid draft")
    upd.set_defaults(func=cmd_tenant_update)
    tenant.add_parser("list", help="list tenants").set_defaults(func=cmd_tenant_list)
    for name, helptext in (("connect", "connect (first time: records the organisation and export-since)"),
                           ("reconnect", "connect again after a disconnect; the gap is delivered by the next run")):
        p = tenant.add_parser(name, help=helptext)
        p.add_argument("tenant_id")
        p.add_argument("--export-since", help="YYYY-MM-DD (first connect only; can never move earlier)")
        p.add_argument("--port", type=int, default=8976, help="local port for the OAuth callback")
        p.add_argument("--no-browser", action="store_true", help="print the consent address, don't open it")
        p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the consent")
        p.set_defaults(func=cmd_tenant_connect)
    p = tenant.add_parser("disconnect", help="stop delivery (and revoke an OAuth authorisation)")
    p.add_argument("tenant_id")
    p.set_defaults(func=cmd_tenant_disconnect)
    p = tenant.add_parser("set-export-since", help="move export-since forward (never earlier)")
    p.add_argument("tenant_id")
    p.add_argument("date")
    p.set_defaults(func=cmd_set_export_since)

    p = tenant.add_parser("writeback", help="write each draft's Lexware status back to a status table in the "
                          "field-service database (off by default)")
    p.add_argument("tenant_id")
    onoff = p.add_mutually_exclusive_group(required=True)
    onoff.add_argument("--on", dest="on", action="store_true")
    onoff.add_argument("--off", dest="on", action="store_false")
    p.set_defaults(func=cmd_tenant_writeback)

    for name, helptext in (("resend", "send again rejected documents (after fixing them in Lexware Office) and "
                                      "drafts the accountant deleted in Lexware Office"),
                           ("resend-deleted", "deprecated: the same as `resend`")):
        res = sub.add_parser(name, help=helptext)
        res.add_argument("tenant_id")
        res.add_argument("ids", nargs="+", help="source ids (the 'id' column of `lexoffice report`)")
        res.add_argument("--stream", choices=["invoices", "transactions"], default="invoices")
        res.set_defaults(func=cmd_resend)

    rep = sub.add_parser("report", help="per document: state, Lexware id, Datum senden, reason")
    rep.add_argument("--tenant")
    rep.add_argument("--stream", choices=["invoices", "transactions"])
    rep.add_argument("--state", action="append", choices=["invalid", "pending", "sending", "sent", "rejected",
                                                           "unknown"])
    rep.add_argument("--lang", choices=["en", "de"], default="en")
    rep.add_argument("--limit", type=int, default=0, help="documents per page (0: all, one page)")
    rep.add_argument("--page", type=int, default=1, help="which page of --limit documents (from 1; by state, then id)")
    rep.set_defaults(func=cmd_report)

    aud = sub.add_parser("audit", help="list documents present more than once in Lexware (exit 1 if any)")
    aud.add_argument("--tenant")
    aud.add_argument("--stream", choices=["invoices", "transactions"])
    aud.add_argument("--since", help="YYYY-MM-DD: drafts created since (default: the tenant's export-since)")
    aud.set_defaults(func=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("lexoffice").setLevel(logging.INFO)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as err:  # a person reads this: one clear line, no traceback, no secrets
        if os.environ.get("LEXOFFICE_DEBUG"):
            raise
        print(f"error: {_first_line(err, limit=1000)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
