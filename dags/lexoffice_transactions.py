"""Airflow DAG: completed bank and card transactions of the bank's own accounts into Lexware Office, exactly once."""

from lexoffice.provider.connections import BANK_CONN_ID
from lexoffice.provider.dag_factory import build_dag

DOC_MD = """
### Bank and card transactions → Lexware Office

Every night (03:30 Europe/Berlin) this DAG reads the transactions **completed** in the run's data interval
(a card payment counts once it is completed), from the bank's **own** accounts only, never before the tenant's
"export data since" date, and pushes them per account, in order, in batches of at most 25.

* **Per tenant:** `stage` → `deliver` → `report` (more than 64 tenants share 64 groups).
* **After a reconnect** the next run delivers everything staged while the tenant was disconnected;
  `airflow backfill create --dag-id lexoffice_transactions --from-date … --to-date …` re-reads past windows and
  sends only what is missing.
* Uses the Lexware partner finance API (unverified against the partner documentation, see docs/architecture.md).
"""

dag = build_dag(
    dag_id="lexoffice_transactions",
    stream="transactions",
    cron="30 3 * * *",
    source_conn_id=BANK_CONN_ID,
    doc_md=DOC_MD,
    description="Abgeschlossene Bank- und Kartenumsätze an Lexware Office, jede Nacht 03:30 (Europe/Berlin), "
                "genau einmal",
)
