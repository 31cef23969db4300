"""Optional write-back: the project's own status table in the field-service database.

So that the field-service application can show "Datum senden", the Lexware status, the invoice number and why
a draft did not go out in its own screens, the nightly run keeps one table there up to date:
``lexoffice_airflow_status`` (never the source's own tables; see docs/sources.md). Off by default per tenant
(``lexoffice tenant writeback``). A read-only source connection gets a clear error instead of a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa

from lexoffice.source.timestamps import UtcDateTime
from lexoffice.state import lexware_status
from lexoffice.state.db import dialect_insert, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import status_writeback as settings_table

log = logging.getLogger(__name__)
TABLE = "lexoffice_airflow_status"
STREAM = "invoices"
PAGE_SIZE = 1000  # documents compared and written per page

source_metadata = sa.MetaData()
status_table = sa.Table(
    TABLE,
    source_metadata,
    sa.Column("company_id", sa.Text, primary_key=True),
    sa.Column("source_id", sa.Text, primary_key=True),  # invoice_drafts.id
    sa.Column("state", sa.Text, nullable=False),  # our outbox state: sent, pending, invalid, rejected, …
    sa.Column("lexware_id", sa.Text),
    sa.Column("datum_senden", UtcDateTime),
    sa.Column("lexware_status", sa.Text),  # draft, open, overdue, paid, paidoff, voided, deleted
    sa.Column("voucher_number", sa.Text),
    sa.Column("reason", sa.Text),  # German, for the person who fixes the draft
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
_VALUES = ("state", "lexware_id", "datum_senden", "lexware_status", "voucher_number", "reason")
_READ_ONLY_SQLSTATES = frozenset({"25006", "42501"})  # read-only transaction, insufficient privilege


class SourceReadOnly(RuntimeError):
    """The field-service connection may not write the status table."""


# -- the per-tenant setting (state database) ---------------------------------------------------------------------
def enabled(engine: sa.Engine, tenant_id: str) -> bool:
    with read_transaction(engine) as conn:
        value = conn.execute(sa.select(settings_table.c.enabled)
                             .where(settings_table.c.tenant_id == tenant_id)).scalar_one_or_none()
    return bool(value)


def set_enabled(engine: sa.Engine, tenant_id: str, on: bool) -> None:
    from lexoffice.state.tenants import get_tenant

    get_tenant(engine, tenant_id)  # a clear error for an unknown tenant
    with write_transaction(engine) as conn:
        insert = dialect_insert(conn, settings_table).values(tenant_id=tenant_id, enabled=on, updated_at=utcnow())
        conn.execute(insert.on_conflict_do_update(index_elements=["tenant_id"],
                                                  set_={"enabled": on, "updated_at": utcnow()}))


# -- writing -----------------------------------------------------------------------------------------------------
def write_back(*, state_engine: sa.Engine, source_engine: sa.Engine, tenant: Any,
               now: datetime | None = None, page_size: int = PAGE_SIZE) -> int:
    """Bring the tenant's rows of the status table up to date; return how many rows changed.

    A page of documents at a time (``page_size``): their Lexware statuses and their rows in the status table are
    read for that page only, and only rows that differ are written.
    """
    from lexoffice.report import iter_document_rows

    company_id = tenant.invoice_company_id
    if not company_id:
        return 0
    now = now or utcnow()
    try:
        with source_engine.begin() as conn:
            source_metadata.create_all(conn, checkfirst=True)
        documents = iter_document_rows(state_engine, tenant_id=tenant.tenant_id, stream=STREAM, language="de",
                                       chunk_size=page_size)
        return sum(_upsert(source_engine, company_id, _wanted(state_engine, tenant.tenant_id, page), now)
                   for page in iter(lambda: list(islice(documents, page_size)), []))
    except sa.exc.DBAPIError as err:
        if not _is_read_only(err):
            raise
        raise SourceReadOnly(
            f"Rückschreiben des Lexware-Status für Mandant {tenant.tenant_id} nicht möglich: die Verbindung zur "
            f"Außendienst-Datenbank darf die Tabelle {TABLE} nicht anlegen oder schreiben (nur Lesezugriff). "
            f"Entweder dieser Verbindung Schreibrechte auf {TABLE} geben (beim ersten Mal auch CREATE) oder das "
            f"Rückschreiben ausschalten: `lexoffice tenant writeback {tenant.tenant_id} --off`. "
            f"(The field-service connection is read-only: grant it CREATE/INSERT/UPDATE on {TABLE}, "
            "or turn the write-back off.)"
        ) from None


def _wanted(state_engine: sa.Engine, tenant_id: str, page: Sequence[tuple[Any, dict[str, Any]]]
            ) -> dict[str, dict[str, Any]]:
    """What the status table should say about one page of documents (outbox row, report row)."""
    codes = lexware_status.statuses(state_engine, tenant_id=tenant_id, stream=STREAM,
                                    doc_keys=[row.doc_key for row, _ in page])
    wanted: dict[str, dict[str, Any]] = {}
    for row, doc in page:
        status = codes.get(row.doc_key)
        wanted[doc["id"]] = {"state": doc["state"], "lexware_id": doc["lexware_id"] or None,
                             "datum_senden": row.sent_at, "lexware_status": status.status if status else None,
                             "voucher_number": status.voucher_number if status else None,
                             "reason": doc["reason"] or None}
    return wanted


def _upsert(source_engine: sa.Engine, company_id: str, wanted: dict[str, dict[str, Any]], now: datetime) -> int:
    """Write the rows of ``wanted`` that differ from what the table holds (read for these keys only)."""
    with source_engine.begin() as conn:
        existing = {r.source_id: {k: getattr(r, k) for k in _VALUES} for r in conn.execute(
            sa.select(status_table).where(status_table.c.company_id == company_id,
                                          status_table.c.source_id.in_(list(wanted))))}
        changed = [{"company_id": company_id, "source_id": key, **values, "updated_at": now}
                   for key, values in wanted.items() if existing.get(key) != values]
        if changed:
            insert = dialect_insert(conn, status_table)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["company_id", "source_id"],
                set_={c: insert.excluded[c] for c in (*_VALUES, "updated_at")}), changed)
    return len(changed)


def _is_read_only(err: sa.exc.DBAPIError) -> bool:
    sqlstate = getattr(err.orig, "sqlstate", None) or getattr(err.orig, "pgcode", None)
    return sqlstate in _READ_ONLY_SQLSTATES or "readonly database" in str(err.orig).lower()
