"""Airflow DAG: invoice drafts from the field-service system into Lexware Office, as drafts, exactly once."""

from lexoffice.provider.connections import FIELDSERVICE_CONN_ID
from lexoffice.provider.dag_factory import build_dag

DOC_MD = """
### Invoice drafts → Lexware Office

Every night (03:00 Europe/Berlin) this DAG reads the invoice drafts created or changed in the run's data
interval and a look-back of 3 days before it (from a completed work order, from a contract, or by hand),
validates them, and creates them in each tenant's Lexware Office organisation **as drafts**: the accountant
checks and sends them there. A tenant in send mode `requested` (the default) sends only the drafts marked
"An die Buchhaltung senden" in the field-service system.

* **Per tenant:** `stage` (extract, validate, record in the outbox) → `deliver` (preflight, reconcile, send) →
  `report` (counts, every failure with its reason, "Datum senden"). With more than 64 tenants they share 64
  groups (labelled with the first and last tenant); one tenant's failure stops no other.
* **Manual trigger:** choose a *tenant*, optionally *documents* (draft ids or numbers such as RE-2026-00026) to
  send just those (a rejected one is sent again; the run fails if one of them is not sent), *dry run* to see
  what would be sent, and *from/to dates* for runs without a data interval. Untick "Unpause on trigger" unless
  the nightly schedule should start: the DAG is paused until someone unpauses it.
* **Never twice:** the outbox in the state database is the only truth about what was sent; re-running any task,
  run or backfill sends nothing twice. `lexoffice report` shows every draft's state.
"""

dag = build_dag(
    dag_id="lexoffice_invoice_drafts",
    stream="invoices",
    cron="0 3 * * *",
    source_conn_id=FIELDSERVICE_CONN_ID,
    doc_md=DOC_MD,
    description="Rechnungsentwürfe an Lexware Office, jede Nacht 03:00 (Europe/Berlin), genau einmal",
)
