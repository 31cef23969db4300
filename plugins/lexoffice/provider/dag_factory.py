"""Builds the two DAGs (one per stream) from one definition, so both behave the same way.

Per batch of tenants (a mapped task group of the provider's operators, labelled with the tenant's name; one
tenant per batch up to LEXOFFICE_TENANT_GROUPS tenants, see provider/batches.py): stage -> deliver -> report;
invoices also read back their Lexware status between deliver and report (stage -> deliver -> status ->
report). The operators take the trigger form's choices from the run's params. Heavy imports (pandas,
SQLAlchemy, the client) happen inside the tasks, never at parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, get_current_context, task, task_group

from lexoffice.provider.operators import (
    LexofficeDeliverOperator,
    LexofficeReportOperator,
    LexofficeStageOperator,
    LexofficeStatusOperator,
)
from lexoffice.streams import spec_of

PARAMS_DOC = {
    "tenant": "Only this tenant (its id, see `lexoffice tenant list`). Empty: every tenant of this stream.",
    "document_ids": "Documents to send (the 'select drafts and send them to accounting' action): source ids, or "
                    "draft numbers such as RE-2026-00026. Sent whatever the tenant's send mode; a rejected one is "
                    "sent again. Empty: the run's window.",
    "dry_run": "Validate and show exactly what would be sent, and send nothing.",
    "from_date": "First day to read (YYYY-MM-DD), for runs without a data interval or to override it.",
    "to_date": "Last day to read, inclusive (YYYY-MM-DD). Empty: up to now.",
}


def _params() -> dict[str, Param]:
    return {
        "tenant": Param(None, type=["null", "string"], title="Tenant", description=PARAMS_DOC["tenant"]),
        # Every type allows null: the trigger form marks a field without null as required, and none is.
        "document_ids": Param([], type=["null", "array"], items={"type": "string"}, title="Documents",
                              description=PARAMS_DOC["document_ids"]),
        "dry_run": Param(False, type=["null", "boolean"], title="Dry run", description=PARAMS_DOC["dry_run"]),
        "from_date": Param(None, type=["null", "string"], format="date", title="From date",
                           description=PARAMS_DOC["from_date"]),
        "to_date": Param(None, type=["null", "string"], format="date", title="To date",
                         description=PARAMS_DOC["to_date"]),
    }


#: The UI takes a DAG's timezone from its start_date: a Berlin start date makes it show Berlin times.
START_DATE = pendulum.datetime(2025, 1, 1, tz="Europe/Berlin")
OWNER = "buchhaltung"


def build_dag(*, dag_id: str, stream: str, cron: str, source_conn_id: str, doc_md: str,
              description: str | None = None) -> DAG:
    with DAG(
        dag_id=dag_id,
        description=description,
        start_date=START_DATE,
        schedule=CronDataIntervalTimetable(cron, timezone="Europe/Berlin"),
        catchup=False,
        # Paused until a person unpauses it: the trigger form's "Unpause on trigger" box (ticked by default) would
        # otherwise turn a first dry run into a schedule that sends for real (docs/operations.md).
        is_paused_upon_creation=True,
        max_active_runs=1,
        params=_params(),
        doc_md=doc_md,
        tags=["lexoffice", stream],
        default_args={"owner": OWNER, "retries": 1, "retry_delay": timedelta(minutes=2)},
    ) as dag:

        @task(task_id="select_tenants", retries=0)
        def select_tenants() -> list[list[dict[str, str]]]:
            """Check the params and share this stream's tenants out into batches (one tenant each while there
            are at most LEXOFFICE_TENANT_GROUPS; refuses invalid params with the reason)."""
            from lexoffice.provider.tasks import select_tenants as impl

            return impl(stream, get_current_context())

        @task_group(group_id="tenant")
        def per_batch(tenants: list[dict[str, str]]) -> None:
            # A mapped group, so each batch's deliver gets that batch's stage result (same map index).
            common: dict[str, Any] = {"stream": stream, "tenants": tenants, "source_conn_id": source_conn_id,
                                      "map_index_template": "{{ tenant_label }}"}
            staged = LexofficeStageOperator(task_id="stage", **common)
            delivered = LexofficeDeliverOperator(task_id="deliver", staged=staged.output, **common)
            status = (LexofficeStatusOperator(task_id="status", delivered=delivered.output, **common)
                      if spec_of(stream).follows_lexware_status else None)  # transactions have no Lexware status
            LexofficeReportOperator(task_id="report", trigger_rule="all_done", retries=0, staged=staged.output,
                                    delivered=delivered.output, status=status.output if status else None,
                                    **common)

        per_batch.expand(tenants=select_tenants())

    return dag

