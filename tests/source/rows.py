"""Source rows for tests: one complete, valid document per call, easy to break in exactly one way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from demo.source_db import create_schema, insert_rows
from lexoffice.source import tables

Row = dict[str, Any]

T0 = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


@dataclass
class InvoiceRows:
    """A company, its customer, a work order, one draft and its lines: valid as built."""

    key: str
    company: Row = field(default_factory=dict)
    customer: Row = field(default_factory=dict)
    work_order: Row = field(default_factory=dict)
    draft: Row = field(default_factory=dict)
    lines: list[Row] = field(default_factory=list)
    extra_customers: list[Row] = field(default_factory=list)
    raw_updates: list[tuple[str, str, Any]] = field(default_factory=list)  # (table, column, value), SQLite only

    @property
    def company_id(self) -> str:
        return self.company["id"]

    @property
    def draft_id(self) -> str:
        return self.draft["id"]


def invoice_rows(key: str, *, event_at: datetime = T0) -> InvoiceRows:
    company_id = f"co-{key}"
    rows = InvoiceRows(key=key)
    rows.company = {
        "id": company_id, "name": "Kammerjäger Nord GmbH & Co. KG", "street": "Große Elbstraße 145", "zip": "22767",
        "city": "Hamburg", "country_code": "DE", "tax_number": "27/614/03517", "vat_id": "DE123456789",
        "accounting_licensed": True, "accounting_software": "lexoffice", "updated_at": event_at,
    }
    rows.customer = {
        "id": f"cu-{key}", "company_id": company_id, "kind": "company", "company_name": "Bäckerei Schäfer & Söhne",
        "salutation": "Herr", "first_name": "Jürgen", "last_name": "Schäfer", "street": "Königsweg 3",
        "zip": "80331", "city": "München", "country_code": "DE", "email": "rechnung@baeckerei-schaefer.de",
        "vat_id": "DE987654321", "updated_at": event_at,
    }
    rows.work_order = {
        "id": f"wo-{key}", "company_id": company_id, "customer_id": f"cu-{key}", "number": "WO-881",
        "description": "Befallskontrolle Lager", "completed_at": event_at, "updated_at": event_at,
    }
    rows.draft = {
        "id": f"dr-{key}", "company_id": company_id, "customer_id": f"cu-{key}", "number": "RE-2025-0042",
        "origin": "work_order", "work_order_id": f"wo-{key}", "contract_id": None, "voucher_date": date(2025, 3, 10),
        "title": "Rechnung", "introduction": "Vielen Dank für Ihren Auftrag.", "remark": "Zahlbar in 14 Tagen.",
        "currency": "EUR", "tax_type": "net", "service_date": date(2025, 3, 7), "service_period_start": None,
        "service_period_end": None, "created_at": event_at, "updated_at": None,
    }
    rows.lines = [
        custom_line(rows.draft_id, 1),
        {"id": f"{rows.draft_id}-2", "draft_id": rows.draft_id, "position": 2, "type": "text",
         "name": "Hinweis: Köderstationen bitte nicht verstellen.", "description": None},
    ]
    return rows


def custom_line(draft_id: str, position: int, **overrides: Any) -> Row:
    line = {
        "id": f"{draft_id}-{position}", "draft_id": draft_id, "position": position, "type": "custom",
        "name": "Schädlingsmonitoring Köderstation", "description": "Inkl. Entsorgung", "quantity": 3.0,
        "unit_name": "Stück", "unit_price": 12.5, "price_kind": "net", "tax_rate": 19.0, "discount_percentage": 5.0,
    }
    line.update(overrides)
    return line


def insert_invoice_rows(engine: sa.Engine, *documents: InvoiceRows, companies: list[InvoiceRows] | None = None) -> None:
    """Insert the documents; ``companies`` names whose company rows to write when documents share one."""
    with engine.begin() as conn:
        insert_rows(conn, tables.companies, [d.company for d in (documents if companies is None else companies)])
        insert_rows(conn, tables.customers,
                           [c for d in documents for c in ([d.customer] if d.customer else []) + d.extra_customers])
        insert_rows(conn, tables.work_orders, [d.work_order for d in documents if d.work_order])
        insert_rows(conn, tables.invoice_drafts, [d.draft for d in documents])
        insert_rows(conn, tables.invoice_draft_lines, [line for d in documents for line in d.lines])
        for document in documents:
            _raw_updates(conn, document.raw_updates, {
                "invoice_drafts": document.draft_id, "companies": document.company_id,
                "customers": document.customer.get("id"),
                "invoice_draft_lines": document.lines[0]["id"] if document.lines else None,
            })


@dataclass
class TransactionRows:
    """A bank customer, its own giro account and one completed transfer: valid as built."""

    key: str
    customer: Row = field(default_factory=dict)
    account: Row = field(default_factory=dict)
    transaction: Row = field(default_factory=dict)
    raw_updates: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def company_id(self) -> str:
        return self.customer["id"]

    @property
    def transaction_id(self) -> str:
        return self.transaction["id"]


def transaction_rows(key: str, *, completed_at: datetime | None = T0) -> TransactionRows:
    rows = TransactionRows(key=key)
    rows.customer = {"id": f"bc-{key}", "name": "Zimmerei Köhler GmbH", "updated_at": T0}
    rows.account = {
        "id": f"ac-{key}", "company_id": f"bc-{key}", "iban": "DE89 3704 0044 0532 0130 00", "name": "Geschäftskonto",
        "bank_name": "Beispielbank AG", "currency": "EUR", "is_own": True, "kind": "giro", "updated_at": T0,
    }
    rows.transaction = {
        "id": f"tx-{key}-{uuid.uuid5(uuid.NAMESPACE_URL, key)}", "account_id": f"ac-{key}", "kind": "transfer",
        "status": "completed" if completed_at else "pending", "amount": -1234.56, "currency": "EUR",
        "booking_date": date(2025, 3, 10), "value_date": date(2025, 3, 11), "completed_at": completed_at,
        "counterparty_name": "Müller & Schmidt GmbH & Co. KG", "counterparty_iban": "DE02120300000000202051",
        "purpose": "Miete Büro 03/2025", "updated_at": completed_at or T0,
    }
    return rows


def insert_transaction_rows(engine: sa.Engine, *documents: TransactionRows,
                            owners: list[TransactionRows] | None = None) -> None:
    """Insert the documents; ``owners`` names whose customer and account rows to write when shared."""
    owners = list(documents) if owners is None else owners
    with engine.begin() as conn:
        insert_rows(conn, tables.bank_customers, [d.customer for d in owners])
        insert_rows(conn, tables.accounts, [d.account for d in owners])
        insert_rows(conn, tables.transactions, [d.transaction for d in documents])
        for document in documents:
            _raw_updates(conn, document.raw_updates, {"transactions": document.transaction_id,
                                                      "accounts": document.account["id"]})


def _raw_updates(conn: sa.Connection, updates: list[tuple[str, str, Any]], ids: dict[str, Any]) -> None:
    """Write values the typed tables refuse (unparsable dates): possible in SQLite, as in real sources."""
    for table, column, value in updates:
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),  # names are test constants
                     {"value": value, "id": ids[table]})


def fresh_schemas(engine: sa.Engine) -> sa.Engine:
    create_schema(engine, "fieldservice")
    create_schema(engine, "bank")
    return engine
