"""The operators a DAG is built from: stage, deliver, status and report, for one tenant (or a batch of tenants)
and one stream.

Each is a thin ``BaseOperator`` around ``lexoffice.provider.tasks`` (which calls the Airflow-free steps). The
run's choices (tenant, window, document ids, dry run) are templated fields; one left unset (None) falls back to
the DAG run's param of the same name, which is how the project's DAGs pass their trigger form on. Results travel
as XComArgs (``staged=stage.output``), so no task id is written down anywhere. Map them per tenant with
``.partial(...).expand(tenant=...)``, or per batch inside a mapped task group (the project's DAGs expand
``tenants=`` over ``select_tenants``' batches: a group gives each batch's deliver the same batch's stage
result; provider/batches.py says why batches). Imports of pandas, SQLAlchemy and the client happen in
``execute``, never when a DAG file is parsed.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lexoffice.documents import Stream
from lexoffice.provider import batches

if TYPE_CHECKING:
    from airflow.sdk import Context

    from lexoffice.provider.hooks import LexofficeHook

STREAMS = tuple(s.value for s in Stream)  # the one list of streams (documents.Stream)
#: The deliver operators' outlet. An alias emits an event only for what ``execute`` adds to it, so a run that
#: delivered nothing (or a dry run) wakes no downstream DAG.
DELIVERED = AssetAlias("lexoffice_delivered")


def delivered_asset(stream: str) -> Asset:
    """What a downstream DAG schedules on (``schedule=[delivered_asset("invoices")]``): documents of this stream
    reached Lexware Office. One event per tenant and run; its extra names the tenant and the counts."""
    return Asset(name=f"lexoffice_{stream}_delivered", uri=f"lexoffice://delivered/{stream}", group="lexoffice")


class LexofficeTenantOperator(BaseOperator):
    """What the four operators share: the tenants of one stream (``tenant``: one; ``tenants``: a batch), the run's
    options, the state DB and one hook per tenant.

    An operator for one ``tenant`` returns that tenant's result and fails with its error, as any task does. An
    operator for a batch of ``tenants`` returns ``{tenant_id: result}``; a tenant that failed has
    ``{"failed": reason}`` there, the other tenants go on, and the report fails naming it (``batches.finish``).
    """

    template_fields: Sequence[str] = ("tenant", "tenants", "document_ids", "dry_run", "from_date", "to_date")
    ui_color = "#e8f4ea"

    def __init__(self, *, stream: str, tenant: str | Mapping[str, str] | None = None,
                 tenants: Sequence[str | Mapping[str, str]] | None = None, source_conn_id: str | None = None,
                 document_ids: Sequence[str] | str | None = None, dry_run: bool | str | None = None,
                 from_date: str | None = None, to_date: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("doc_md", inspect.cleandoc(type(self).__doc__ or ""))  # the task's "Task Docs" in the UI
        super().__init__(**kwargs)
        if stream not in STREAMS:
            raise ValueError(f"{type(self).__name__}: stream must be one of {', '.join(STREAMS)}, got {stream!r}")
        if tenant is not None and tenants is not None:
            raise ValueError(f"{type(self).__name__}: give 'tenant' (one) or 'tenants' (a batch), not both")
        self.stream = stream
        self.tenant = tenant
        self.tenants = tenants
        self.source_conn_id = source_conn_id
        self.document_ids = document_ids
        self.dry_run = dry_run
        self.from_date = from_date
        self.to_date = to_date

    # -- the rendered choices, checked -------------------------------------------------------------------------
    @property
    def batch(self) -> list[dict[str, str]]:
        """The tenants this task works for, each ``{"tenant_id", "name"}`` (the name may be the id)."""
        if self.tenants is None:
            return [self._tenant_ref(self.tenant, "tenant")]
        if isinstance(self.tenants, (str, Mapping)) or not isinstance(self.tenants, Sequence) or not self.tenants:
            raise AirflowFailException(
                f"{self.task_id}: 'tenants' must be a non-empty list of tenant ids or {{'tenant_id': ..., "
                f"'name': ...}}, got {self.tenants!r}")
        batch = [self._tenant_ref(item, "tenants") for item in self.tenants]
        ids = [t["tenant_id"] for t in batch]
        if len(set(ids)) < len(ids):  # one tenant twice would deliver beside itself
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise AirflowFailException(f"{self.task_id}: 'tenants' names {', '.join(twice)} more than once")
        return batch

    def _tenant_ref(self, tenant: Any, name: str) -> dict[str, str]:
        value = tenant.get("tenant_id") if isinstance(tenant, Mapping) else tenant
        if not isinstance(value, str) or not value.strip():
            raise AirflowFailException(
                f"{self.task_id}: '{name}' must be a tenant id (see `lexoffice tenant list`) or "
                f"{{'tenant_id': ..., 'name': ...}}, got {tenant!r}")
        label = tenant.get("name") if isinstance(tenant, Mapping) else None
        return {"tenant_id": value.strip(), "name": str(label or value.strip())}

    @property
    def tenant_label(self) -> str:
        """What the grid shows for this map index: the tenant's name, or the first and last of a batch."""
        return batches.label(self.batch)

    def options(self, context: Context) -> dict[str, Any]:
        """The run's choices as ``tasks`` reads them (the DAG params' keys): this operator's rendered fields, each
        unset one taken from the run's params, and checked."""
        params = context.get("params") or {}
        chosen = {key: getattr(self, key) if getattr(self, key) is not None else params.get(key)
                  for key in ("document_ids", "dry_run", "from_date", "to_date")}
        ids = chosen["document_ids"] or []
        if isinstance(ids, str) or not isinstance(ids, Sequence) or not all(isinstance(i, (str, int)) for i in ids):
            raise AirflowFailException(
                f"{self.task_id}: 'document_ids' must be a list of source ids or draft numbers, got {ids!r} (a "
                "template renders a string: set render_template_as_native_obj=True on the DAG, or leave it unset "
                "to use the run's param 'document_ids')")
        return {"document_ids": [str(i) for i in ids], "dry_run": _as_flag(chosen["dry_run"], self.task_id),
                "from_date": _as_date_text(chosen["from_date"]), "to_date": _as_date_text(chosen["to_date"])}

    # -- what execute needs ------------------------------------------------------------------------------------
    @cached_property
    def state_engine(self) -> Any:
        from lexoffice.provider import connections

        return connections.state_engine()

    @cached_property
    def _hooks(self) -> dict[str, LexofficeHook]:
        return {}

    @cached_property
    def _rate_limiter(self) -> Any:
        from lexoffice.provider import connections

        return connections.rate_limiter(self.state_engine)

    def hook_for(self, tenant_id: str) -> LexofficeHook:
        """The tenant's Lexware hook (its connection is read once per task, however often the hook is used)."""
        from lexoffice.provider import connections
        from lexoffice.state import tenants

        hook = self._hooks.get(tenant_id)
        if hook is None:
            tenant = tenants.get_tenant(self.state_engine, tenant_id)
            hook = self._hooks[tenant_id] = connections.tenant_hook(self.state_engine, tenant,
                                                                     limiter=self._rate_limiter)
        return hook

    def upstream(self, result: Any, tenant_id: str) -> Any:
        """This tenant's part of an upstream step's result (a batch's results are keyed by tenant id)."""
        if self.tenants is None:
            return result
        return result.get(tenant_id) if isinstance(result, Mapping) else None

    def for_each_tenant(self, context: Context, step: Callable[[str], Any], *, what: str,
                        side_by_side: bool = False, partial_ok: bool = True) -> Any:
        """Run ``step(tenant_id)`` for the batch; see the class docstring for what is returned and raised."""
        ids = [t["tenant_id"] for t in self.batch]
        outcome = batches.run_each(ids, step, what=what, side_by_side=side_by_side)
        batches.finish(outcome, what=what, retries_left=batches.retries_left(context), partial_ok=partial_ok)
        return outcome.as_xcom() if self.tenants is not None else outcome.results[ids[0]]

    def _labelled(self, context: Context) -> Context:
        context["tenant_label"] = self.tenant_label  # type: ignore[typeddict-unknown-key]  # map_index_template
        return context


class LexofficeStageOperator(LexofficeTenantOperator):
    """Extract the tenant's window (or selected documents) from the source, validate it, record it in the
    outbox. Returns counts and the selected document keys (for deliver), never payloads."""

    def execute(self, context: Context) -> dict[str, Any]:
        from lexoffice.provider import tasks

        if not self.source_conn_id:
            raise AirflowFailException(f"{self.task_id}: 'source_conn_id' is required to stage (the source DB)")
        context, options = self._labelled(context), self.options(context)
        return self.for_each_tenant(context, lambda tenant_id: tasks.stage(
            self.stream, tenant_id, self.source_conn_id, context, options, engine=self.state_engine), what="stage")


class LexofficeDeliverOperator(LexofficeTenantOperator):
    """Send the tenant's pending documents to Lexware Office exactly once (or preview them in a dry run). The
    tenants of a batch deliver side by side: each is its own Lexware organisation with its own rate budget."""

    template_fields: Sequence[str] = (*LexofficeTenantOperator.template_fields, "staged")

    def __init__(self, *, staged: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [DELIVERED])
        super().__init__(**kwargs)
        self.staged = staged

    def execute(self, context: Context) -> dict[str, Any]:
        from lexoffice.provider import tasks

        context, options = self._labelled(context), self.options(context)
        events = threading.Lock()

        def deliver(tenant_id: str) -> dict[str, Any]:
            staged = self.upstream(self.staged, tenant_id) or {}
            if batches.failure(staged):
                raise AirflowFailException(f"nicht bereitgestellt, nichts gesendet / not staged, nothing sent: "
                                           f"{batches.failure(staged)}")
            result = tasks.deliver(self.stream, tenant_id, self.source_conn_id, staged, context, options,
                                   engine=self.state_engine, hook=self.hook_for(tenant_id))
            delivered = int(result.get("sent") or 0) + int(result.get("reconciled_sent") or 0)
            if delivered and not result.get("dry_run") and DELIVERED in self.outlets:
                with events:  # one event per tenant; the alias's accessor is not made for threads
                    context["outlet_events"][DELIVERED].add(delivered_asset(self.stream), extra={
                        "tenant_id": tenant_id, "delivered": delivered, "run_id": context.get("run_id")})
            return result

        return self.for_each_tenant(context, deliver, what="deliver", side_by_side=True)


class LexofficeStatusOperator(LexofficeTenantOperator):
    """Read back what became of the tenant's sent invoices in Lexware Office (status, voucher number). Give it the
    deliver result (``delivered=deliver.output``) so a batch skips the tenants whose delivery failed."""

    template_fields: Sequence[str] = (*LexofficeTenantOperator.template_fields, "delivered")

    def __init__(self, *, delivered: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delivered = delivered

    def execute(self, context: Context) -> dict[str, Any]:
        from lexoffice.provider import tasks
        from lexoffice.streams import spec_of

        if not spec_of(self.stream).follows_lexware_status:
            raise AirflowFailException(f"{self.task_id}: only invoices have a status in Lexware to follow")
        context, options = self._labelled(context), self.options(context)

        def sync(tenant_id: str) -> dict[str, Any]:
            if batches.failure(self.upstream(self.delivered, tenant_id)):  # the report says why
                return {"tenant_id": tenant_id, "skipped": "Lieferung fehlgeschlagen / delivery failed"}
            return tasks.sync_status(tenant_id, self.source_conn_id, context, options, engine=self.state_engine)

        return self.for_each_tenant(context, sync, what="status", side_by_side=True)


class LexofficeReportOperator(LexofficeTenantOperator):
    """Counts by state and every failure with its reason. Give it ``trigger_rule="all_done"`` so that it reports
    a blocked delivery too; it then fails, so the DAG run fails and alerting fires. In a batch every tenant's
    report is written first, then the task fails naming each tenant that failed in any step."""

    template_fields: Sequence[str] = (*LexofficeTenantOperator.template_fields, "staged", "delivered", "status")

    def __init__(self, *, staged: Any = None, delivered: Any = None, status: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.staged = staged
        self.delivered = delivered
        self.status = status

    def execute(self, context: Context) -> dict[str, int]:
        from lexoffice.provider import tasks

        context, options = self._labelled(context), self.options(context)

        def report(tenant_id: str) -> dict[str, int]:
            staged, delivered, status = (self.upstream(r, tenant_id) for r in (self.staged, self.delivered,
                                                                              self.status))
            return tasks.report(self.stream, tenant_id, context, options, engine=self.state_engine,
                                staged=None if batches.failure(staged) else staged,
                                delivered=None if batches.failure(delivered) else delivered,
                                status_sync=None if batches.failure(status) else status,
                                hook=lambda: self.hook_for(tenant_id))

        return self.for_each_tenant(context, report, what="report", partial_ok=False)


def _as_flag(value: Any, task_id: str) -> bool:
    from lexoffice.settings import strict_bool

    try:
        return strict_bool(value, name="dry_run")
    except ValueError as err:
        raise AirflowFailException(f"{task_id}: {err}") from None


def _as_date_text(value: Any) -> str | None:
    """Empty means "not given"; the window arithmetic (windows.py) checks the date itself."""
    return None if value in (None, "") else str(value)
