"""Write exact source rows for a test (the demo generator makes bulk data; these make the cases a test names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pendulum
import sqlalchemy as sa

from lexoffice.source import tables

BERLIN = "Europe/Berlin"


def at(day: str, hour: int = 10) -> datetime:
    """A Berlin wall-clock time on ``day`` as an aware UTC datetime."""
    d = date.fromisoformat(day)
    return pendulum.datetime(d.year, d.month, d.day, hour, tz=BERLIN).in_timezone("UTC")


def _insert(engine: sa.Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:  # an empty executemany would be INSERT ... DEFAULT VALUES
        return
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)


def company(engine: sa.Engine, company_id: str, *, name: str = "Nordschutz Schädlingsbekämpfung GmbH",
            licensed: bool = True, software: str | None = "lexoffice") -> None:
    _insert(engine, tables.companies, [{
        "id": company_id, "name": name, "street": "Hafenstraße 12", "zip": "20457", "city": "Hamburg",
        "country_code": "DE", "tax_number": "22/815/08151", "vat_id": "DE123456789",
        "accounting_licensed": licensed, "accounting_software": software, "updated_at": at("2026-09-01"),
    }])


def customer(engine: sa.Engine, customer_id: str, company_id: str, *, name: str = "Bäckerei Müller & Söhne GmbH",
             email: str | None = None, kind: str = "company") -> None:
    _insert(engine, tables.customers, [{
        "id": customer_id, "company_id": company_id, "kind": kind,
        "company_name": name if kind == "company" else None,
        "first_name": "Anna" if kind == "person" else None, "last_name": name if kind == "person" else None,
        "street": "Lindenallee 3", "zip": "50667", "city": "Köln", "country_code": "DE",
        "email": email or f"rechnung+{customer_id}@example.de", "updated_at": at("2026-09-01"),
    }])


def draft(engine: sa.Engine, draft_id: str, company_id: str, customer_id: str | None, *, origin: str = "manual",
          created: str = "2026-10-05", number: str | None = None, lines: list[dict[str, Any]] | None = None,
          tax_type: str = "net", title: str | None = "Rechnung", currency: str = "EUR",
          work_order_id: str | None = None, contract_id: str | None = None, updated: str | None = None,
          requested: str | None = None, source_total: float | None = None) -> None:
    if origin == "work_order" and work_order_id is None:
        work_order_id = f"WO-{draft_id}"
        _insert(engine, tables.work_orders, [{"id": work_order_id, "company_id": company_id,
                                              "customer_id": customer_id, "number": work_order_id,
                                              "description": "Köderstationen geprüft",
                                              "completed_at": at(created, 8), "updated_at": at(created, 8)}])
    if origin == "contract" and contract_id is None:
        contract_id = f"V-{draft_id}"
        _insert(engine, tables.contracts, [{"id": contract_id, "company_id": company_id, "customer_id": customer_id,
                                            "number": contract_id, "description": "Wartungsvertrag",
                                            "valid_from": date(2026, 1, 1), "valid_until": date(2027, 12, 31),
                                            "updated_at": at("2026-01-01")}])
    _insert(engine, tables.invoice_drafts, [{
        "id": draft_id, "company_id": company_id, "customer_id": customer_id, "number": number or f"RE-{draft_id}",
        "origin": origin, "work_order_id": work_order_id, "contract_id": contract_id,
        "voucher_date": date.fromisoformat(created), "title": title, "introduction": None, "remark": None,
        "currency": currency, "tax_type": tax_type, "service_date": date.fromisoformat(created),
        "service_period_start": None, "service_period_end": None,
        "created_at": at(created), "updated_at": at(updated) if updated else None,
        "send_requested_at": at(requested, 11) if requested else None, "source_gross_total": source_total,
    }])
    lines = lines if lines is not None else [
        {"name": "Schädlingsmonitoring", "quantity": 2, "unit_price": 49.5, "tax_rate": 19},
        {"name": "Köder", "quantity": 3, "unit_price": 4.2, "tax_rate": 7},
    ]
    _insert(engine, tables.invoice_draft_lines, [{
        "id": f"{draft_id}-{i}", "draft_id": draft_id, "position": i, "type": line.get("type", "custom"),
        "name": line["name"], "description": line.get("description"), "quantity": line.get("quantity"),
        "unit_name": line.get("unit_name", "Stück"), "unit_price": line.get("unit_price"),
        "price_kind": line.get("price_kind", tax_type), "tax_rate": line.get("tax_rate"),
        "discount_percentage": line.get("discount_percentage"),
    } for i, line in enumerate(lines, start=1)])


def touch_draft(engine: sa.Engine, draft_id: str, *, when: str, title: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(tables.invoice_drafts).where(tables.invoice_drafts.c.id == draft_id)
                     .values(title=title, updated_at=at(when)))


def request_send(engine: sa.Engine, draft_id: str, *, when: str, hour: int = 11) -> None:
    """The source system's "An die Buchhaltung senden" button: only send_requested_at changes."""
    with engine.begin() as conn:
        conn.execute(sa.update(tables.invoice_drafts).where(tables.invoice_drafts.c.id == draft_id)
                     .values(send_requested_at=at(when, hour)))


def license_accounting(engine: sa.Engine, company_id: str, licensed: bool = True) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(tables.companies).where(tables.companies.c.id == company_id)
                     .values(accounting_licensed=licensed))


def bank_customer(engine: sa.Engine, company_id: str, name: str = "Nordschutz GmbH") -> None:
    _insert(engine, tables.bank_customers, [{"id": company_id, "name": name, "updated_at": at("2026-09-01")}])


def account(engine: sa.Engine, account_id: str, company_id: str, iban: str, *, own: bool = True,
            kind: str = "giro") -> None:
    _insert(engine, tables.accounts, [{
        "id": account_id, "company_id": company_id, "iban": iban, "name": "Geschäftskonto", "bank_name": "Testbank",
        "currency": "EUR", "is_own": own, "kind": kind, "updated_at": at("2026-09-01"),
    }])


def transaction(engine: sa.Engine, txn_id: str, account_id: str, *, amount: float = -42.5, booked: str = "2026-10-05",
                completed: str | None = "2026-10-05", status: str = "completed", kind: str = "transfer",
                counterparty_iban: str | None = "DE89370400440532013000") -> None:
    _insert(engine, tables.transactions, [{
        "id": txn_id, "account_id": account_id, "kind": kind, "status": status, "amount": amount,
        "currency": "EUR", "booking_date": date.fromisoformat(booked), "value_date": date.fromisoformat(booked),
        "completed_at": at(completed, 12) if completed else None, "counterparty_name": "Stadtwerke Köln",
        "counterparty_iban": counterparty_iban, "purpose": f"Rechnung {txn_id}",
        "updated_at": at(completed or booked, 12),
    }])


def complete_transaction(engine: sa.Engine, txn_id: str, *, when: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(tables.transactions).where(tables.transactions.c.id == txn_id)
                     .values(status="completed", completed_at=at(when, 12), updated_at=at(when, 12)))
