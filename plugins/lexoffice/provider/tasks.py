"""What the operators do, given an Airflow context and the run's options (document ids, dry run, from/to date,
as the DAG params name them): resolve windows and connections, then call the Airflow-free steps (staging.stage,
delivery.run). XCom carries small summaries only (counts, ids), never payloads; results arrive as arguments,
never pulled by task id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pendulum
from airflow.sdk.exceptions import AirflowFailException

from lexoffice import report as reporting
from lexoffice.delivery import run as delivery_run
from lexoffice.delivery.result import TenantBlocked
from lexoffice.documents import Stream
from lexoffice.provider import connections
from lexoffice.staging import stage as staging
from lexoffice.state import health, outbox, runs, tenants
from lexoffice.staging.windows import WindowError, clamp, lookback_from_env, requested_window
from lexoffice.streams import spec_of

log = logging.getLogger(__name__)
# How long the organisation lease of a sender that died (or lost its state database) blocks the next sender.
# It must exceed the longest stretch between two lease renewals (one document: lookups, retries, timeouts).
LEASE_TTL_ENV = "LEXOFFICE_LEASE_TTL_SECONDS"
DEFAULT_LEASE_TTL_SECONDS = 120.0


def lease_ttl_seconds() -> float:
    """The lease TTL from LEXOFFICE_LEASE_TTL_SECONDS (default 120 s)."""
    from lexoffice.delivery.budget import positive_seconds

    try:
        return positive_seconds(LEASE_TTL_ENV, DEFAULT_LEASE_TTL_SECONDS, "120")
    except ValueError as err:
        raise AirflowFailException(str(err)) from err


def _confirm_grace_seconds(tenant: Any, hook: Any) -> float:
    try:
        return hook.confirm_grace_seconds()
    except ValueError as err:
        raise AirflowFailException(f"tenant {tenant.tenant_id}: {err}") from err


def _delivery_budget_seconds() -> float:
    from lexoffice.delivery.budget import budget_seconds

    try:
        return budget_seconds()
    except ValueError as err:  # names the variable and an example
        raise AirflowFailException(str(err)) from err


def _company_id(tenant: Any, stream: str) -> str | None:
    return spec_of(stream).company_id(tenant)


def _window_args(context: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return {
        "data_interval_start": context.get("data_interval_start"),
        "data_interval_end": context.get("data_interval_end"),
        "from_date": params.get("from_date"),
        "to_date": params.get("to_date"),
        "now": pendulum.now("UTC"),
        "lookback": lookback_from_env(),
    }


def select_tenants(stream: str, context: dict[str, Any]) -> list[list[dict[str, str]]]:
    """The run's tenants of this stream, shared out into batches (``batches.share_out``): one mapped tenant group
    each."""
    from lexoffice.provider import batches

    params = context["params"]
    try:
        requested_window(**_window_args(context, params))
    except WindowError as err:
        raise AirflowFailException(f"invalid params: {err}") from err
    try:
        groups = batches.max_groups()
    except ValueError as err:
        raise AirflowFailException(str(err)) from err
    engine = connections.state_engine()
    known = [t for t in tenants.list_tenants(engine) if _company_id(t, stream)]
    wanted = params.get("tenant")
    if params.get("document_ids") and not wanted:
        raise AirflowFailException(
            "invalid params: 'document_ids' needs 'tenant' (document ids belong to one tenant's source system); "
            "choose the tenant and trigger again"
        )
    if wanted:
        known = [t for t in known if t.tenant_id == wanted]
        if not known:
            names = ", ".join(t.tenant_id for t in tenants.list_tenants(engine)) or "none yet"
            raise AirflowFailException(
                f"invalid params: 'tenant' {wanted!r} is not a tenant of the {stream} stream (known tenants: {names}); "
                "add it with `lexoffice tenant add`"
            )
    shared = batches.share_out([{"tenant_id": t.tenant_id, "name": t.name} for t in known], groups)
    _check_map_length(len(shared), stream)
    _say_how_many_at_once(len(shared), stream, context.get("dag"))
    if len(shared) < len(known):
        log.info("%d tenant(s) for %s in %d batches of up to %d (%s=%d): %s", len(known), stream, len(shared),
                 len(shared[0]), batches.GROUPS_ENV, groups, ", ".join(t.name for t in known))
    else:
        log.info("%d tenant(s) for %s: %s", len(known), stream, ", ".join(t.name for t in known))
    return shared


def _check_map_length(count: int, stream: str) -> None:
    """Airflow maps at most ``core.max_map_length`` tenant groups (default 1,024); say so, and what to set."""
    from airflow.configuration import conf

    limit = conf.getint("core", "max_map_length")
    if count > limit:
        raise AirflowFailException(
            f"{count} tenant groups for {stream}, but Airflow runs at most {limit} mapped tasks per step "
            f"(core.max_map_length). Lower LEXOFFICE_TENANT_GROUPS (default 64; more tenants share a group) or set "
            "AIRFLOW__CORE__MAX_MAP_LENGTH above it on the scheduler and the workers; see docs/operations.md "
            "'Many tenants'. Nothing was staged or sent.")


def _say_how_many_at_once(count: int, stream: str, dag: Any) -> None:
    """Airflow runs at most ``max_active_tasks`` of a DAG's tasks (and ``parallelism`` per scheduler) at once and
    queues the rest without a word; with more tenant groups than that, say so, so a long night is no mystery."""
    from airflow.configuration import conf

    per_dag = getattr(dag, "max_active_tasks", None) or conf.getint("core", "max_active_tasks_per_dag")
    parallelism = conf.getint("core", "parallelism")
    at_once = min(per_dag, parallelism)
    if count > at_once:
        log.warning(
            "%d Mandantengruppen, davon höchstens %d gleichzeitig / %d tenant groups for %s, at most %d at once "
            "(AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=%d, AIRFLOW__CORE__PARALLELISM=%d); the others wait in the "
            "queue, nothing is lost. docs/operations.md 'Many tenants' says what to raise.",
            count, at_once, count, stream, at_once, per_dag, parallelism)


def stage(stream: str, tenant_id: str, source_conn_id: str, context: dict[str, Any], params: dict[str, Any], *,
          engine: Any) -> dict[str, Any]:
    tenant = tenants.get_tenant(engine, tenant_id)
    ids = [str(i) for i in params.get("document_ids") or []]
    window = None
    if not ids:
        args = _window_args(context, params)
        window = clamp(requested_window(**args), tenant.export_since, now=args["now"])
        if window is None:
            message = (f"tenant {tenant_id}: the whole window lies before export_since {tenant.export_since}; "
                       "nothing to read (export_since can only move forward)")
            log.warning(message)
            return {"tenant_id": tenant_id, "window": None, "counts": {}, "doc_keys": None, "skipped": message}
    if ids and not params.get("dry_run"):
        _resend_selected(engine, tenant_id, stream, ids, context["run_id"])
    source = connections.engine_for(source_conn_id)
    if window is not None and _sends_requested_only(engine, tenant_id, stream):
        staged = staging.stage_requested(state_engine=engine, source_engine=source, tenant=tenant, window=window,
                                          run_id=context["run_id"])
    else:
        staged = staging.stage_tenant(state_engine=engine, source_engine=source, tenant=tenant,
                                       stream=Stream(stream), window=window, source_ids=ids or None,
                                       run_id=context["run_id"])
    if window is not None:
        staged["rechecked"] = staging.recheck_tenant_reasons(state_engine=engine, source_engine=source,
                                                              tenant=tenant, stream=Stream(stream),
                                                              run_id=context["run_id"])
    return staged


def _resend_selected(engine: Any, tenant_id: str, stream: str, ids: list[str], run_id: str) -> None:
    """Selecting a rejected document (fixed in Lexware Office) or a draft deleted in Lexware is how a person says
    "send it again": back to pending (outbox.resend) before staging, so it is staged from the current source."""
    key_of = spec_of(stream).doc_key
    result = outbox.resend(engine, tenant_id=tenant_id, stream=stream, doc_keys=[key_of(i) for i in ids],
                           actor=f"Airflow run {run_id}")
    if result.moved:
        log.info("%d document(s) selected again, back to pending and sent now: %s", len(result.moved),
                 ", ".join(result.moved))


def _sends_requested_only(engine: Any, tenant_id: str, stream: str) -> bool:
    """Whether a nightly run sends only the drafts whose send was requested (the tenant's send mode)."""
    return spec_of(stream).field_service and tenants.send_mode(engine, tenant_id) == "requested"


def deliver(stream: str, tenant_id: str, source_conn_id: str | None, staged: dict[str, Any],
            context: dict[str, Any], params: dict[str, Any], *, engine: Any, hook: Any) -> dict[str, Any]:
    """``hook`` is the tenant's LexofficeHook: its one connection read gives the client and the grace period."""
    tenant = tenants.get_tenant(engine, tenant_id)
    started = pendulum.now("UTC")
    selection = staged.get("doc_keys")
    if params.get("document_ids") and not selection:
        message = "none of the selected document ids exists for this tenant; nothing to send"
        log.warning(message)
        _record(engine, context, tenant_id, stream, started, "nothing-selected", {}, message)
        return {"sent": 0, "message": message}
    if not params.get("document_ids") and _sends_requested_only(engine, tenant_id, stream):
        selection = delivery_run.requested_doc_keys(state_engine=engine, tenant=tenant,
                                                source_engine=connections.engine_for(source_conn_id))
    if not tenant.connected and not params.get("dry_run"):
        # A deliberate disconnect is not an alert: documents are staged and wait for the reconnect.
        message = (f"tenant {tenant_id} is disconnected: documents are staged, not sent. After "
                   f"`lexoffice tenant reconnect {tenant_id}` the next run delivers everything staged meanwhile.")
        log.warning(message)
        _record(engine, context, tenant_id, stream, started, "disconnected", {}, message)
        return {"sent": 0, "message": message}
    try:
        result = delivery_run.deliver_tenant(
            state_engine=engine, tenant=tenant, stream=Stream(stream), client_factory=lambda _: hook.get_client(),
            source_engine=connections.engine_for(source_conn_id) if spec_of(stream).field_service else None,
            doc_keys=selection, dry_run=bool(params.get("dry_run")), run_id=context["run_id"],
            lease_ttl=lease_ttl_seconds(), confirm_grace_seconds=_confirm_grace_seconds(tenant, hook),
            budget_seconds=_delivery_budget_seconds(),
        )
    except TenantBlocked as blocked:
        _record(engine, context, tenant_id, stream, started, "blocked", {}, str(blocked))
        health.record_error(engine, tenant_id, str(blocked))
        raise AirflowFailException(str(blocked)) from blocked
    health.record_ok(engine, tenant_id)  # the UI's "verbunden" indicator: Lexware answered this run
    summary = result.as_dict()
    for item in result.would_send:  # the first PREVIEW_LIMIT; would_send_count has them all
        log.info("would send: %s", item)
    counts = {k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)}
    status = "dry-run" if result.dry_run else "delivered"
    _record(engine, context, tenant_id, stream, started, status, counts,
            f"{result.would_send_count} would be sent" if result.dry_run else "")
    return summary


def report(stream: str, tenant_id: str, context: dict[str, Any], params: dict[str, Any], *, engine: Any,
           staged: dict[str, Any] | None, delivered: dict[str, Any] | None, status_sync: dict[str, Any] | None,
           hook: Callable[[], Any]) -> dict[str, int]:
    """``staged``/``delivered``/``status_sync``: what the upstream tasks returned (None when one did not run);
    ``hook`` gives the tenant's LexofficeHook, asked for only by the duplicate check."""
    recorded = [r for r in runs.list_runs(engine, tenant_id=tenant_id, stream=stream)
                if r.run_id == context["run_id"]]
    last = recorded[0] if recorded else None
    blocked = last.message if last is not None and last.status == "blocked" else None
    delivery = None
    if last is not None and last.status in ("delivered", "dry-run"):
        delivery = delivered
    if delivery and delivery.get("uncertain") and not delivery.get("dry_run"):
        _check_duplicates(engine, tenant_id, stream, delivery["uncertain"], hook())
    note = last.message if last is not None and last.status not in ("blocked", "delivered") else None
    if staged and staged.get("skipped"):
        note = staged["skipped"] + (f"; {note}" if note else "")
    text = reporting.run_report(engine, tenant_id=tenant_id, stream=stream, stage=staged, delivery=delivery,
                                blocked=blocked, note=note, status_sync=status_sync, run_id=context["run_id"])
    for line in text.splitlines():
        log.info("%s", line)
    if last is None:
        raise AirflowFailException(
            f"tenant {tenant_id}: stage or deliver did not finish in this run (see their task logs). Nothing is "
            "lost: documents stay in the outbox and the next run (or a clear + re-run of this one) continues."
        )
    if blocked:
        # The report is the leaf task: failing it makes the DAG run fail, so alerting fires.
        raise AirflowFailException(f"delivery blocked: {blocked}")
    if params.get("document_ids") and not params.get("dry_run"):
        not_sent = reporting.selection_not_sent(engine, tenant_id=tenant_id, stream=stream, stage=staged or {})
        if not_sent:
            # A person chose these documents and expects them in Lexware Office: a green run would hide that.
            raise AirflowFailException(
                f"{len(not_sent)} ausgewählte(s) Dokument(e) nicht gesendet / selected document(s) not sent:\n"
                + "\n".join(f"  {line}" for line in not_sent))
    return reporting.state_counts(engine, tenant_id=tenant_id, stream=stream)


def _check_duplicates(engine: Any, tenant_id: str, stream: str, doc_keys: list[str], hook: Any) -> None:
    """The report's cheap duplicate check: only documents whose outcome was uncertain in this run are looked up
    in Lexware (``lexoffice audit`` checks everything). A failure here is logged, never fails the report."""
    from lexoffice.delivery import audit

    tenant = tenants.get_tenant(engine, tenant_id)
    client = hook.get_client()
    try:
        result = audit.check_after_run(engine, client, tenant, stream, doc_keys)
        for line in audit.describe(result):
            log.info("duplicate check: %s", line)
    except Exception as err:  # noqa: BLE001 - the report must still be written
        log.warning("duplicate check for tenant %s %s failed (%s); run `lexoffice audit`", tenant_id, stream, err)
    finally:
        client.close()


def sync_status(tenant_id: str, source_conn_id: str | None, context: dict[str, Any], params: dict[str, Any], *,
                engine: Any) -> dict[str, Any]:
    """Read back what became of the tenant's sent invoices in Lexware Office (lexoffice/followup/).

    Skipped for dry runs and selections (the nightly run does it). Lexware or the source being unreachable is
    a line in the report, not a failed run: the statuses are read again the next night.
    """
    from lexoffice.followup import nightly

    if params.get("dry_run") or params.get("document_ids"):
        return {"tenant_id": tenant_id, "skipped": "Probelauf oder Auswahl: Status wird nachts gelesen"}
    return nightly.run(state_engine=engine, tenant=tenants.get_tenant(engine, tenant_id),
                       client_factory=connections.client_factory(engine),
                       source_engine=lambda: connections.engine_for(source_conn_id), run_id=context["run_id"],
                       lease_ttl=lease_ttl_seconds())


def _record(engine: Any, context: dict[str, Any], tenant_id: str, stream: str, started: datetime, status: str,
            counts: dict[str, int], message: str) -> None:
    runs.record_run(engine, run_id=context["run_id"], tenant_id=tenant_id, stream=stream, started_at=started,
                    finished_at=pendulum.now("UTC"), status=status, counts=counts, message=message)
