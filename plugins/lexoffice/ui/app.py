"""The FastAPI app behind the page (mounted by Airflow's api-server under ``/lexoffice``).

Server-rendered HTML (Jinja2 templates next to this file) plus a few JSON routes the page's small script
calls; no build step, no JavaScript framework. Every route depends on Airflow's user and asks the auth manager
(``access.py``); the work itself is done by the project's own modules (tenants, outbox, CLI helpers), never
re-implemented here.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import pendulum
import sqlalchemy as sa
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Query as Q, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from lexoffice.provider import connections
from lexoffice.documents import Stream
from lexoffice.followup.labels import status_label
from lexoffice.state import health, tenants
from lexoffice.streams import spec_of
from lexoffice.ui import access, api_keys, documents, oauth, send
from lexoffice.ui.texts import STATE_WORDS, UI_STATES, WORDS, datum_senden, language, ui_state

log = logging.getLogger(__name__)
PREFIX = "/lexoffice"  # the plugin's url_prefix; links use mount_path(), which also holds the api-server's base URL
SOURCE_CONN_IDS = {Stream.INVOICES: connections.FIELDSERVICE_CONN_ID, Stream.TRANSACTIONS: connections.BANK_CONN_ID}
PRODUCTION_APP_URL = "https://app.lexware.de"

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters["datum_senden"] = datum_senden
templates.env.filters["lexware_status"] = status_label
templates.env.filters["day"] = lambda d, lang="de": "" if d is None else d.strftime(
    "%d.%m.%Y" if lang == "de" else "%Y-%m-%d")
templates.env.filters["money"] = lambda v, lang="de": "" if v is None else (
    f"{v:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".") if lang == "de" else f"€{v:,.2f}")


def _stream(value: str) -> Stream:
    try:
        return Stream(value)
    except ValueError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Datenstrom {value!r} gibt es nicht: invoices oder "
                                                       "transactions") from None


_READY: set[str] = set()  # state databases whose schema was found current in this process


def _state_engine() -> sa.Engine:
    """The state DB; its schema version is checked once per process, not on every page view."""
    from lexoffice.state.db import OutdatedSchema, require_current_schema

    engine = connections.engine_for(connections.STATE_CONN_ID)
    key = engine.url.render_as_string(hide_password=True)
    if key not in _READY:
        try:
            require_current_schema(engine)
        except OutdatedSchema as err:  # the page says what to run instead of a bare server error
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from None
        _READY.add(key)
    return engine


def _tenant(tenant_id: str) -> tenants.Tenant:
    try:
        return tenants.get_tenant(_state_engine(), tenant_id)
    except tenants.TenantNotFound as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None


def _company(tenant: tenants.Tenant, stream: Stream) -> str:
    company = spec_of(stream).company_id(tenant)
    if not company:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Mandant {tenant.tenant_id} hat keinen Datenstrom {stream}")
    return company


def mount_path(request: Request) -> str:
    """Where this app is served, as the browser sees it: the api-server's base URL path (``[api] base_url``, e.g.
    ``/airflow``) plus the plugin's prefix; Starlette's mount puts it in the scope's ``root_path``."""
    return str(request.scope.get("root_path") or PREFIX).rstrip("/")


def _require_json(request: Request) -> None:
    """State-changing calls come from the page's script as JSON: a cross-site form cannot send that."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Bitte als application/json senden.")


def lexware_app_url(conn_id: str) -> str:
    """The Lexware Office web app of a tenant's API (for links to a draft); the sandbox serves itself."""
    from lexoffice.cli import ensure_connection_visible
    from lexoffice.client.auth import PRODUCTION_API_HOST
    from lexoffice.provider.hooks import LexofficeHook, api_base_url

    try:
        ensure_connection_visible(conn_id)
        conn = LexofficeHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - a missing connection only costs the link
        return PRODUCTION_APP_URL
    base = api_base_url(conn.host, conn.port)
    return PRODUCTION_APP_URL if urlsplit(base).hostname == PRODUCTION_API_HOST else base


class SendBody(BaseModel):
    document_ids: list[str] = Field(description="source ids of the documents to send")


class ExportSinceBody(BaseModel):
    export_since: date


class ConnectBody(BaseModel):
    export_since: date | None = None


class ApiKeyBody(BaseModel):
    api_key: str = Field(min_length=1, description="the Lexware Office API key (stored as the connection's password)")
    export_since: date | None = None


# ------------------------------------------------------------------------------------------------ the app


def create_app() -> FastAPI:
    app = FastAPI(title="Lexware Office", docs_url=None, redoc_url=None, openapi_url=None)

    # -- pages --------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def tenants_page(request: Request, user: GetUserDep, lang: str | None = None) -> HTMLResponse:
        readable = access.require_any_read(user)
        lg = language(lang)
        engine = _state_engine()
        states = health.get_all(engine)
        rows = [{"tenant": t, "health": states.get(t.tenant_id),
                 "admin": access.can_administer(user, t.lexoffice_conn_id),
                 "streams": [s for s in readable if spec_of(s).company_id(t)]}
                for t in tenants.list_tenants(engine)]
        return templates.TemplateResponse(request, "tenants.html", {
            "rows": rows, "w": WORDS[lg], "lang": lg, "prefix": mount_path(request), "message": request.query_params.get("msg"),
        })

    @app.get("/tenants/{tenant_id}/{stream_name}", response_class=HTMLResponse)
    def documents_page(request: Request, user: GetUserDep, tenant_id: str, stream_name: str,
                       state: Annotated[list[str], Q()] = [],  # noqa: B006 - FastAPI query list
                       from_day: Annotated[str | None, Q(alias="from")] = None,
                       to_day: Annotated[str | None, Q(alias="to")] = None,
                       q: str | None = None, order: str | None = None, page_size: int | None = None,
                       cursor: str | None = None, account: str | None = None, lang: str | None = None,
                       sort: str | None = None, direction: Annotated[str | None, Q(alias="dir")] = None,
                       fragment: bool = False) -> HTMLResponse:
        stream = _stream(stream_name)
        access.require_read(user, stream)
        tenant = _tenant(tenant_id)
        company = _company(tenant, stream)
        try:
            query = documents.Query.parse(state=state, from_day=from_day, to_day=to_day, text=q, order=order,
                                          page_size=page_size, cursor=cursor, account=account, sort=sort,
                                          direction=direction)
        except documents.QueryError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
        source = connections.engine_for(SOURCE_CONN_IDS[stream])
        dag_id = access.STREAM_DAGS[stream]
        try:
            result = documents.page(state_engine=_state_engine(), source_engine=source, tenant_id=tenant.tenant_id,
                                    stream=stream, company_id=company, query=query,
                                    queued=send.queued_ids(dag_id, tenant.tenant_id))
        except documents.QueryError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
        lg = language(lang)
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "fragment")]
        context = {
            "tenant": tenant, "stream": stream, "page": result, "query": query, "w": WORDS[lg], "lang": lg,
            "states": STATE_WORDS[lg], "ui_states": UI_STATES, "prefix": mount_path(request),
            "can_send": access.can_send(user, stream),
            "app_url": lexware_app_url(tenant.lexoffice_conn_id),
            "accounts": documents.accounts(source, stream, company),
            "next_url": f"?{urlencode([*params, ('cursor', result.next_cursor)])}" if result.next_cursor else None,
            "first_url": f"?{urlencode(params)}",
            "sort_urls": _sort_urls(params, stream, query),
            "lang_url": "?" + urlencode([*((k, v) for k, v in params if k != "lang"),
                                         ("lang", "en" if lg == "de" else "de")]),
        }
        return templates.TemplateResponse(request, "rows.html" if fragment else "documents.html", context)

    @app.get("/run/{dag_id}/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, user: GetUserDep, dag_id: str, run_id: str, lang: str | None = None
                 ) -> HTMLResponse:
        """"Documents of this run": the run's selection, or its tenants' documents when it had none."""
        streams = {v: k for k, v in access.STREAM_DAGS.items()}
        if dag_id not in streams:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id} ist kein Lexware-Office-DAG")
        stream = streams[dag_id]
        access.require_read(user, stream)
        tenant_id, ids = send.run_selection(dag_id, run_id)
        lg = language(lang)
        rows = _run_rows(_state_engine(), run_id, stream, tenant_id, ids)
        return templates.TemplateResponse(request, "run.html", {
            "rows": rows, "w": WORDS[lg], "lang": lg, "run_id": run_id, "tenant_id": tenant_id, "prefix": mount_path(request),
            "states": STATE_WORDS[lg],
        })

    # -- actions ------------------------------------------------------------------------------------------
    @app.post("/api/tenants/{tenant_id}/{stream_name}/send")
    def send_action(request: Request, user: GetUserDep, tenant_id: str, stream_name: str, body: SendBody
                    ) -> dict[str, Any]:
        _require_json(request)
        stream = _stream(stream_name)
        access.require_send(user, stream)
        tenant = _tenant(tenant_id)
        _company(tenant, stream)
        dag_id = access.STREAM_DAGS[stream]
        try:
            result = send.send(dag_id=dag_id, tenant_id=tenant.tenant_id, document_ids=body.document_ids,
                               user_name=user.get_name())
        except send.SendError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
        lg = language(request.query_params.get("lang"))
        return {"run_id": result.run_id, "created": result.created, "paused": result.paused,
                "message": (WORDS[lg]["dag_paused"].format(dag_id=dag_id) if result.paused
                            else WORDS[lg]["sent_request"])}

    @app.post("/api/tenants/{tenant_id}/export-since")
    def export_since_action(request: Request, user: GetUserDep, tenant_id: str, body: ExportSinceBody
                            ) -> dict[str, Any]:
        _require_json(request)
        tenant = _admin_tenant(user, tenant_id)
        try:
            tenant = tenants.set_export_since(_state_engine(), tenant.tenant_id, body.export_since)
        except tenants.ExportSinceError as err:  # the CLI's refusal, word for word
            raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
        return {"tenant": tenant.tenant_id, "export_since": tenant.export_since.isoformat()}

    @app.post("/api/tenants/{tenant_id}/disconnect")
    def disconnect_action(request: Request, user: GetUserDep, tenant_id: str) -> dict[str, Any]:
        _require_json(request)
        from lexoffice.cli import revoke_oauth

        tenant = _admin_tenant(user, tenant_id)
        engine = _state_engine()
        revoked = revoke_oauth(engine, tenant)
        tenants.record_disconnect(engine, tenant.tenant_id, at=pendulum.now("UTC"))
        return {"tenant": tenant.tenant_id, "connected": False, "revoked": revoked}

    @app.post("/api/tenants/{tenant_id}/connect")
    def connect_action(request: Request, user: GetUserDep, tenant_id: str, body: ConnectBody) -> dict[str, Any]:
        """Connect or reconnect with the credentials the tenant's connection (API key) or token store holds;
        also the "Verbindung prüfen" action: it asks Lexware who the credentials belong to."""
        _require_json(request)
        tenant = _admin_tenant(user, tenant_id)
        return _connect(tenant, body.export_since)

    @app.post("/api/tenants/{tenant_id}/api-key")
    def api_key_action(request: Request, user: GetUserDep, tenant_id: str, body: ApiKeyBody) -> dict[str, Any]:
        """"Mit API-Schlüssel verbinden": store the key in the tenant's Airflow connection, then connect."""
        _require_json(request)
        tenant = _admin_tenant(user, tenant_id)
        if tenant.auth_mode != "api_key":
            raise HTTPException(status.HTTP_409_CONFLICT, f"Mandant {tenant.tenant_id} verbindet sich per OAuth: "
                                                          "bitte 'Zugriff erlauben' benutzen.")
        try:
            api_keys.store(tenant.lexoffice_conn_id, body.api_key.strip())
        except api_keys.ManagedElsewhere as err:
            raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
        return _connect(tenant, body.export_since)

    @app.get("/oauth/start/{tenant_id}")
    def oauth_start(request: Request, user: GetUserDep, tenant_id: str) -> RedirectResponse:
        from lexoffice.cli import oauth_settings

        tenant = _admin_tenant(user, tenant_id)
        try:
            settings = oauth_settings(tenant.lexoffice_conn_id)
        except LookupError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
        # the callback route below, under the prefix the api-server mounted this app at (scope's root_path)
        redirect_uri = str(request.url.replace(path=f"{mount_path(request)}/oauth/callback", query=""))
        url = oauth.start(_state_engine(), tenant_id=tenant.tenant_id, user_id=str(user.get_id()),
                          client_id=settings.client_id, authorize_url=settings.urls["authorize"],
                          redirect_uri=redirect_uri)
        return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)

    @app.get("/oauth/callback")
    def oauth_callback(request: Request, user: GetUserDep, state: str | None = None, code: str | None = None,
                       error: str | None = None) -> RedirectResponse:
        from lexoffice.cli import oauth_settings
        from lexoffice.client import exchange_code
        from lexoffice.state.tokens import DbTokenStore

        engine = _state_engine()
        try:
            pending = oauth.finish(engine, state=state, user_id=str(user.get_id()))
        except oauth.OAuthStateError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
        tenant = _admin_tenant(user, pending.tenant_id)
        if error or not code:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Lexware Office hat den Zugriff nicht erlaubt "
                                                             f"({error or 'kein Code'}); nichts wurde geändert.")
        settings = oauth_settings(tenant.lexoffice_conn_id)
        record = exchange_code(token_url=settings.urls["token"], client_id=settings.client_id,
                               client_secret=settings.client_secret, code=code, redirect_uri=pending.redirect_uri,
                               allow_insecure_http=settings.allow_insecure_http, code_verifier=pending.code_verifier)
        DbTokenStore(engine).save(tenant.lexoffice_conn_id, record)
        result = _connect(tenant, None)
        return RedirectResponse(f"{mount_path(request)}/?{urlencode({'msg': result['message']})}",
                                status_code=status.HTTP_303_SEE_OTHER)

    return app


def _sort_urls(params: list[tuple[str, str]], stream: Stream, query: documents.Query) -> dict[str, str]:
    """A link per sortable column header: the first page in that order, ascending; the current column reversed.
    Filters are kept, the cursor (a position in the other order) is not."""
    kept = [(k, v) for k, v in params if k not in ("sort", "dir", "order")]
    urls = {}
    for key in documents.SORTS[stream]:
        descending = not query.descending if key == query.sort else key == "time"
        urls[key] = "?" + urlencode([*kept, ("sort", key), ("dir", "desc" if descending else "asc")])
    return urls


def _admin_tenant(user: BaseUser, tenant_id: str) -> tenants.Tenant:
    tenant = _tenant(tenant_id)
    access.require_admin(user, tenant.lexoffice_conn_id)
    return tenant


def _connect(tenant: tenants.Tenant, export_since: date | None) -> dict[str, Any]:
    from lexoffice.cli import record_connect

    engine = _state_engine()
    try:
        tenant, profile = record_connect(engine, tenant, export_since)
    except (tenants.ExportSinceError, tenants.OrganisationMismatch) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    except Exception as err:  # noqa: BLE001 - Lexware said no: record it for the indicator, show it
        health.record_error(engine, tenant.tenant_id, str(err))
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"Lexware Office: {err}") from None
    return {"tenant": tenant.tenant_id, "connected": True, "organisation": profile["organizationId"],
            "export_since": tenant.export_since.isoformat() if tenant.export_since else None,
            "message": f"{tenant.name}: verbunden mit {profile.get('companyName')!s}"}


def _run_rows(engine: sa.Engine, run_id: str, stream: Stream, tenant_id: str | None,
              ids: list[str]) -> list[dict[str, Any]]:
    """A run's documents: its selection (those not staged yet too), or, for a run without one, every document
    it staged (outbox ``run_id``)."""
    from lexoffice.state import outbox

    key = spec_of(stream).doc_key
    if ids and tenant_id:
        stored = {r.doc_key: r for r in outbox.rows(engine, tenant_id=tenant_id, stream=stream,
                                                    doc_keys=[key(i) for i in ids])}
        return [{"tenant": tenant_id, "id": i, "row": stored.get(key(i)),
                 "state": ui_state(str(stored[key(i)].state) if key(i) in stored else None, queued=False)}
                for i in ids]
    return [{"tenant": t.tenant_id, "id": row.doc_key, "row": row, "state": ui_state(str(row.state), queued=False)}
            for t in tenants.list_tenants(engine)
            for row in outbox.rows(engine, tenant_id=t.tenant_id, stream=stream) if row.run_id == run_id]


app = create_app()
