"""The operators a DAG is built from: stage, deliver, status and report, for one tenant and one stream.

Each is a thin ``BaseOperator`` around ``lexoffice.provider.tasks`` (which calls the Airflow-free steps). The
run's choices (tenant, window, document ids, dry run) are templated fields; one left unset (None) falls back to
the DAG run's param of the same name, which is how the project's DAGs pass their trigger form on. Results travel
as XComArgs (``staged=stage.output``), so no task id is written down anywhere. Map them per tenant with
``.partial(...).expand(tenant=...)`` or inside a mapped task group (the project's DAGs: a group gives each
tenant's deliver the same tenant's stage result). Imports of pandas, SQLAlchemy and the client happen in
``execute``, never when a DAG file is parsed.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lexoffice.documents import Stream

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
    """What the four operators share: one tenant of one stream, the run's options, the state DB and the hook."""

    template_fields: Sequence[str] = ("tenant", "document_ids", "dry_run", "from_date", "to_date")
    ui_color = "#e8f4ea"

    def __init__(self, *, stream: str, tenant: str | Mapping[str, str], source_conn_id: str | None = None,
                 document_ids: Sequence[str] | str | None = None, dry_run: bool | str | None = None,
                 from_date: str | None = None, to_date: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("doc_md", inspect.cleandoc(type(self).__doc__ or ""))  # the task's "Task Docs" in the UI
        super().__init__(**kwargs)
        if stream not in STREAMS:
            raise ValueError(f"{type(self).__name__}: stream must be one of {', '.join(STREAMS)}, got {stream!r}")
        self.stream = stream
        self.tenant = tenant
        self.source_conn_id = source_conn_id
        self.document_ids = document_ids
        self.dry_run = dry_run
        self.from_date = from_date
        self.to_date = to_date

    # -- the rendered choices, checked -------------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        tenant = self.tenant
        value = tenant.get("tenant_id") if isinstance(tenant, Mapping) else tenant
        if not isinstance(value, str) or not value.strip():
            raise AirflowFailException(
                f"{self.task_id}: 'tenant' must be a tenant id (see `lexoffice tenant list`) or "
                f"{{'tenant_id': ..., 'name': ...}}, got {tenant!r}")
        return value.strip()

    @property
    def tenant_label(self) -> str:
        """What the grid shows for this map index: the tenant's name when known, else its id."""
        name = self.tenant.get("name") if isinstance(self.tenant, Mapping) else None
        return str(name or self.tenant_id)

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
    def hook(self) -> LexofficeHook:
        """The tenant's Lexware hook (its connection is read once per task, however often the hook is used)."""
        from lexoffice.provider import connections
        from lexoffice.state import tenants

        return connections.tenant_hook(self.state_engine, tenants.get_tenant(self.state_engine, self.tenant_id))

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
        return tasks.stage(self.stream, self.tenant_id, self.source_conn_id, self._labelled(context),
                           self.options(context), engine=self.state_engine)


class LexofficeDeliverOperator(LexofficeTenantOperator):
    """Send the tenant's pending documents to Lexware Office exactly once (or preview them in a dry run)."""

    template_fields: Sequence[str] = (*LexofficeTenantOperator.template_fields, "staged")

    def __init__(self, *, staged: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [DELIVERED])
        super().__init__(**kwargs)
        self.staged = staged

    def execute(self, context: Context) -> dict[str, Any]:
        from lexoffice.provider import tasks

        result = tasks.deliver(self.stream, self.tenant_id, self.source_conn_id, self.staged or {},
                               self._labelled(context), self.options(context), engine=self.state_engine,
                               hook=self.hook)
        delivered = int(result.get("sent") or 0) + int(result.get("reconciled_sent") or 0)
        if delivered and not result.get("dry_run") and DELIVERED in self.outlets:
            context["outlet_events"][DELIVERED].add(delivered_asset(self.stream), extra={
                "tenant_id": self.tenant_id, "delivered": delivered, "run_id": context.get("run_id")})
        return result


class LexofficeStatusOperator(LexofficeTenantOperator):
    """Read back what became of the tenant's sent invoices in Lexware Office (status, voucher number)."""

    def execute(self, context: Context) -> dict[str, Any]:
        from lexoffice.provider import tasks
        from lexoffice.streams import spec_of

        if not spec_of(self.stream).follows_lexware_status:
            raise AirflowFailException(f"{self.task_id}: only invoices have a status in Lexware to follow")
        return tasks.sync_status(self.tenant_id, self.source_conn_id, self._labelled(context), self.options(context),
                                 engine=self.state_engine)


class LexofficeReportOperator(LexofficeTenantOperator):
    """Counts by state and every failure with its reason. Give it ``trigger_rule="all_done"`` so that it reports
    a blocked delivery too; it then fails, so the DAG run fails and alerting fires."""

    template_fields: Sequence[str] = (*LexofficeTenantOperator.template_fields, "staged", "delivered", "status")

    def __init__(self, *, staged: Any = None, delivered: Any = None, status: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.staged = staged
        self.delivered = delivered
        self.status = status

    def execute(self, context: Context) -> dict[str, int]:
        from lexoffice.provider import tasks

        return tasks.report(self.stream, self.tenant_id, self._labelled(context), self.options(context),
                            engine=self.state_engine, staged=self.staged, delivered=self.delivered,
                            status_sync=self.status, hook=lambda: self.hook)


def _as_flag(value: Any, task_id: str) -> bool:
    from lexoffice.settings import strict_bool

    try:
        return strict_bool(value, name="dry_run")
    except ValueError as err:
        raise AirflowFailException(f"{task_id}: {err}") from None


def _as_date_text(value: Any) -> str | None:
    """Empty means "not given"; the window arithmetic (windows.py) checks the date itself."""
    return None if value in (None, "") else str(value)
