"""Invoice drafts as ``StagedDocument`` lists, one source page at a time: validated, hashed and built.

A page is at most ``chunk_size`` drafts (with their company, customer and lines, read by
``lexoffice.source.invoices``); it is validated (vectorised) and turned into payloads before the next page is
taken, so memory depends on the page size, not on the source. On a database server the next page is read in a
thread meanwhile (``background.read_ahead``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.documents import StagedDocument
from lexoffice.source import frames
from lexoffice.source.invoices import iter_invoice_frames
from lexoffice.staging import background, columns
from lexoffice.staging.columns import EPOCH
from lexoffice.validation.invoices import validate_invoices

DRAFT_STAMPS = ("created_at", "updated_at", "event_at")

#: Everything about a draft that influences its payload or its validation. Timestamps are left out on
#: purpose: touching a row without changing it must not look like a change. Dates are hashed as the
#: source's text, so a correction of an unparsable date counts.
HASHED_DRAFT_COLUMNS = tuple(
    f"{c}_text" if c in frames.DRAFTS.dates else c for c in frames.DRAFTS.columns if c not in DRAFT_STAMPS
)
HASHED_LINE_COLUMNS = frames.LINES.columns


def iter_invoice_documents(
    engine: sa.Engine,
    *,
    company_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Sequence[str] | None = None,
    chunk_size: int = 2000,
    on_date: date | None = None,
) -> Iterator[list[StagedDocument]]:
    """Drafts of ``company_id`` changed in ``[start, end)`` (by ``COALESCE(updated_at, created_at)``), or
    exactly the drafts in ``ids`` when given (any time; ids of other companies are ignored).

    Yields lists of at most ``chunk_size`` documents, valid or not, each with all its reasons.
    ``on_date`` is passed to validation (see ``validate_invoices``).
    """
    pages = iter_invoice_frames(engine, company_id=company_id, start=start, end=end, ids=ids, chunk_size=chunk_size)
    if background.worth_a_thread(engine):
        pages = background.read_ahead(pages, name="source-pages")
    for drafts, lines in pages:
        yield build_invoice_documents(drafts, lines, on_date=on_date)


def build_invoice_documents(drafts: pd.DataFrame, lines: pd.DataFrame, *,
                            on_date: date | None = None) -> list[StagedDocument]:
    """Validate a page of drafts and build one ``StagedDocument`` per draft (payload only when valid).

    Hashes, keys and dates are computed a column at a time; request bodies are built from plain values
    per valid draft, each customer's contact once. ``reference_rows.invoice_documents`` is the per-row
    definition this agrees with.
    """
    d = frames.prepare_drafts(drafts)
    lines = frames.prepare_lines(lines).sort_values(["draft_id", "position"], kind="stable").reset_index(drop=True)
    reasons_per_draft = validate_invoices(d, lines, on_date=on_date)["reasons"].tolist()
    ids = d["id"].tolist()
    spans = _line_spans(lines["draft_id"].tolist())
    hashes = _content_hashes(d, lines, ids, spans)
    events = event_times_of(d)
    event_times = events.dt.to_pydatetime().tolist()
    keys = [payloads.key_id(i) for i in ids]
    sort_keys = [f"{s}|{i}" for s, i in zip(columns.iso_utc_microseconds(events), keys, strict=True)]
    rows = _plain_rows(d, PAYLOAD_DRAFT_COLUMNS)
    tax_types = [t or "net" for t in columns.texts(d["tax_type"])]
    items = _line_items(lines, dict(zip(ids, tax_types, strict=True)))
    related_of = _related_per_customer()
    invoice_payload = _payload_builder()
    documents = []
    for i, (row, reasons) in enumerate(zip(rows, reasons_per_draft, strict=True)):
        start, stop = spans.get(ids[i], (0, 0))
        customer = None if reasons else tuple(row[c] for c in _CUSTOMER_COLUMNS)  # the caches' key
        documents.append(
            StagedDocument(
                doc_key=payloads.invoice_doc_key(ids[i]),
                content_hash=hashes[i],
                payload=None if reasons else invoice_payload(row, customer, tax_types[i], items[start:stop]),
                reasons=tuple(reasons),
                source_ref=payloads.invoice_source_ref(row),
                event_time=event_times[i],
                group_key=payloads.customer_key(row),
                sort_key=sort_keys[i],
                related={} if reasons else related_of(row, customer),
            )
        )
    return documents


def event_times_of(d: pd.DataFrame) -> pd.Series:
    """When each draft last changed; a time the source holds as no time at all (validation says so) falls back
    to the creation time, then to 1970, so that the draft is still recorded with its reason."""
    return d["event_at"].fillna(d["created_at"]).fillna(pd.Timestamp(EPOCH))


#: The draft columns the request bodies and references are built from (no timestamps, dates as ``date``).
PAYLOAD_DRAFT_COLUMNS = tuple(c for c in frames.DRAFTS.columns if c not in DRAFT_STAMPS)
_CUSTOMER_COLUMNS = tuple(c for c in frames.DRAFTS.columns if c.startswith("customer_"))


def _plain_rows(frame: pd.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (str/NaN, float, int, bool, ``date``/None) without
    ``DataFrame.to_dict``'s per-value boxing."""
    values = [columns.dates(frame[c]) if c in frames.DRAFTS.dates else frame[c].tolist() for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _line_spans(draft_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Where each draft's lines are in the lines sorted by (draft, position): draft id -> (start, stop)."""
    spans: dict[str, tuple[int, int]] = {}
    start = 0
    for draft_id, group in itertools.groupby(draft_ids):
        stop = start + sum(1 for _ in group)
        spans[draft_id] = (start, stop)
        start = stop
    return spans


def _content_hashes(d: pd.DataFrame, lines: pd.DataFrame, ids: list[str],
                    spans: dict[str, tuple[int, int]]) -> list[str]:
    """``reference_rows.invoice_content_hash`` of every draft."""
    draft_json = columns.json_objects(d, HASHED_DRAFT_COLUMNS)
    line_json = columns.json_objects(lines, HASHED_LINE_COLUMNS)
    texts = []
    for draft_id, fields in zip(ids, draft_json, strict=True):
        start, stop = spans.get(draft_id, (0, 0))
        texts.append(f'["invoice",{fields},[{",".join(line_json[start:stop])}]]')
    return columns.sha256_hex(texts)


def _line_items(lines: pd.DataFrame, tax_type_of: dict[str, str]) -> list[dict[str, Any]]:
    """``payloads.line_item`` of every line (sorted by draft and position), a column at a time."""
    types = [t or "custom" for t in columns.texts(lines["type"])]
    names = columns.multilines(columns.texts(lines["name"]))
    descriptions = columns.multilines(columns.texts(lines["description"]))
    price_kinds = columns.texts(lines["price_kind"])
    quantities = columns.numbers(lines["quantity"])
    unit_names = columns.texts(lines["unit_name"])
    prices = columns.numbers(lines["unit_price"])
    rates = columns.numbers(lines["tax_rate"])
    discounts = columns.numbers(lines["discount_percentage"])
    draft_ids = lines["draft_id"].tolist()
    items = []
    for i, kind in enumerate(types):
        item: dict[str, Any] = {"type": kind, "name": names[i]}
        if descriptions[i]:
            item["description"] = descriptions[i]
        if kind != "text":
            price_kind = price_kinds[i] or tax_type_of.get(draft_ids[i], "net")
            item["quantity"] = quantities[i]
            item["unitName"] = unit_names[i]
            item["unitPrice"] = {"currency": "EUR", "grossAmount" if price_kind == "gross" else "netAmount": prices[i],
                                 "taxRatePercentage": rates[i]}
            item["discountPercentage"] = discounts[i] or 0
        items.append(item)
    return items


def _payload_builder() -> Any:
    """``payloads.invoice_payload`` from a plain draft row, its customer columns (as a tuple) and its built
    line items; each distinct date, address and service period of the page is formatted once."""
    day = columns.day_formatter(payloads.lexware_datetime)
    addresses: dict[tuple[Any, ...], dict[str, Any]] = {}
    shipping: dict[tuple[Any, ...], dict[str, Any]] = {}

    def build(row: dict[str, Any], customer: tuple[Any, ...], tax_type: str,
              items: list[dict[str, Any]]) -> dict[str, Any]:
        voucher = row["voucher_date"]
        if voucher is None:
            raise ValueError(f"draft {row.get('id')!r} has no voucher date; validate before building payloads")
        address = addresses.get(customer)
        if address is None:
            address = addresses[customer] = payloads.address(row)
        period = (row["service_period_start"], row["service_period_end"], row["service_date"])
        conditions = shipping.get(period)
        if conditions is None:
            conditions = shipping[period] = payloads.shipping_conditions(row)
        payload: dict[str, Any] = {
            "voucherDate": day(voucher),
            "address": dict(address),
            "lineItems": items,
            "totalPrice": {"currency": "EUR"},
            "taxConditions": {"taxType": tax_type},
            "shippingConditions": dict(conditions),
        }
        title = payloads.multiline(row["title"])
        if title:
            payload["title"] = title
        introduction = payloads.multiline(row["introduction"])
        if introduction:
            payload["introduction"] = introduction
        payload["remark"] = payloads.remark_with_reference(row)
        return payload

    return build


def _related_per_customer() -> Any:
    """``payloads.invoice_related`` of a draft row, built once per distinct customer data on the page."""
    cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def related(row: dict[str, Any], customer: tuple[Any, ...]) -> dict[str, Any]:
        found = cache.get(customer)
        if found is None:
            found = cache[customer] = payloads.invoice_related(row)
        return found

    return related
