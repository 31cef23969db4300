"""What differs between the two streams, described once per stream.

Invoice drafts and bank transactions travel the same way (extract, validate, stage, deliver, report); where
they differ, the code asks the stream's ``StreamSpec`` instead of comparing ``stream == Stream.INVOICES``.
The spec holds facts and lower-layer functions only (it sits just above ``state``), so every step of the flow
may ask it. The stream's own code is found by its stream where it lives: the SQL in ``source/<stream>.py``,
the rules in ``validation/<stream>.py``, the builder in ``staging/<stream>.py`` (``staging.stage.DOCUMENTS``),
the delivery loop in ``delivery/<stream>.py`` (``delivery.run.DELIVERIES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from lexoffice import payloads
from lexoffice.documents import Stream

if TYPE_CHECKING:  # the DAG files read the spec while Airflow parses them: keep state (SQLAlchemy) out of that
    from lexoffice.state.tenants import Tenant


@dataclass(frozen=True)
class StreamSpec:
    stream: Stream
    #: The tenant's id of its company in this stream's source (field-service company, bank customer).
    company_attribute: str
    #: Source id -> outbox key ("draft:…", "txn:…").
    doc_key: Callable[[str], str]
    #: The export-since rule at delivery: what dates a document (from its payload and event time), under which
    #: field and name a person sees it. Drafts by their voucher date (a Berlin day), transactions by their
    #: completion time (a moment).
    document_date: Callable[[dict[str, Any] | None, datetime], date | datetime | None]
    export_since_field: str
    export_since_label: str
    #: Invoice drafts come from a field-service company whose settings decide whether they may be sent at all
    #: (licence "Rechnungswesen", accounting software, own address and tax id): preflight checks them, a person
    #: may name a draft by its number, drafts held back by them are checked again every night, the source's own
    #: gross total is compared with Lexware's, and a tenant may send only the drafts whose send was requested.
    field_service: bool
    #: Kleinunternehmer organisations cannot receive these documents (invoices with tax).
    refuses_small_business: bool
    #: What became of a sent document in Lexware can be read back (voucher status and number).
    follows_lexware_status: bool

    def company_id(self, tenant: Tenant) -> str | None:
        value: str | None = getattr(tenant, self.company_attribute)
        return value


def _voucher_day(payload: dict[str, Any] | None, event_time: datetime) -> date | None:
    raw = str((payload or {}).get("voucherDate") or "")[:10]  # Lexware dates are Europe/Berlin days
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _completion(payload: dict[str, Any] | None, event_time: datetime) -> datetime:
    return event_time  # a transaction's event time is its completion (the cursor its windows use)


INVOICES = StreamSpec(
    stream=Stream.INVOICES, company_attribute="invoice_company_id", doc_key=payloads.invoice_doc_key,
    document_date=_voucher_day, export_since_field="voucherDate", export_since_label="voucher date",
    field_service=True, refuses_small_business=True, follows_lexware_status=True,
)
TRANSACTIONS = StreamSpec(
    stream=Stream.TRANSACTIONS, company_attribute="bank_company_id", doc_key=payloads.transaction_doc_key,
    document_date=_completion, export_since_field="completed_at", export_since_label="completed_at",
    field_service=False, refuses_small_business=False, follows_lexware_status=False,
)
SPECS: dict[Stream, StreamSpec] = {spec.stream: spec for spec in (INVOICES, TRANSACTIONS)}


def spec_of(stream: Stream | str) -> StreamSpec:
    """The spec of ``stream``; a clear error for a name that is no stream."""
    try:
        return SPECS[Stream(stream)]
    except ValueError:
        raise ValueError(f"unknown stream {stream!r}; expected one of {', '.join(s.value for s in Stream)}") from None
