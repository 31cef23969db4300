"""Typed SQLAlchemy Core handles on the source tables: the UI reads drafts and transactions through them, and the
demo generator and the tests write rows through them (``demo/source_db.py``).

The DDL in ``include/sql/`` is the schema of record; these lightweight ``sa.table`` objects only name the
columns and give them the bind types that make values land in the contract's format on both dialects
(UTC timestamps, ISO dates, 0/1 booleans). A test keeps them in step with the DDL.
"""

from __future__ import annotations

import sqlalchemy as sa

from lexoffice.source.timestamps import UtcDateTime


def _text(*names: str) -> list[sa.ColumnClause[str]]:
    return [sa.column(name, sa.Text) for name in names]


def _dates(*names: str) -> list[sa.ColumnClause[object]]:
    return [sa.column(name, sa.Date) for name in names]


def _stamps(*names: str) -> list[sa.ColumnClause[object]]:
    return [sa.column(name, UtcDateTime()) for name in names]


def _numbers(*names: str) -> list[sa.ColumnClause[object]]:
    # Floats, not Decimal: SQLite would warn on Decimal; PostgreSQL NUMERIC keeps the shortest repr.
    return [sa.column(name, sa.Float) for name in names]


companies = sa.table(
    "companies",
    *_text("id", "name", "street", "zip", "city", "country_code", "tax_number", "vat_id", "accounting_software"),
    sa.column("accounting_licensed", sa.Boolean),
    *_stamps("updated_at"),
)

customers = sa.table(
    "customers",
    *_text("id", "company_id", "kind", "company_name", "salutation", "first_name", "last_name", "street", "zip",
           "city", "country_code", "email", "vat_id"),
    *_stamps("updated_at"),
)

work_orders = sa.table(
    "work_orders",
    *_text("id", "company_id", "customer_id", "number", "description"),
    *_stamps("completed_at", "updated_at"),
)

contracts = sa.table(
    "contracts",
    *_text("id", "company_id", "customer_id", "number", "description"),
    *_dates("valid_from", "valid_until"),
    *_stamps("updated_at"),
)

invoice_drafts = sa.table(
    "invoice_drafts",
    *_text("id", "company_id", "customer_id", "number", "origin", "work_order_id", "contract_id", "title",
           "introduction", "remark", "currency", "tax_type"),
    *_dates("voucher_date", "service_date", "service_period_start", "service_period_end"),
    *_stamps("created_at", "updated_at", "send_requested_at"),
    *_numbers("source_gross_total"),
)

invoice_draft_lines = sa.table(
    "invoice_draft_lines",
    *_text("id", "draft_id", "type", "name", "description", "unit_name", "price_kind"),
    sa.column("position", sa.Integer),
    *_numbers("quantity", "unit_price", "tax_rate", "discount_percentage"),
)

bank_customers = sa.table("bank_customers", *_text("id", "name"), *_stamps("updated_at"))

accounts = sa.table(
    "accounts",
    *_text("id", "company_id", "iban", "name", "bank_name", "currency", "kind"),
    sa.column("is_own", sa.Boolean),
    *_stamps("updated_at"),
)

transactions = sa.table(
    "transactions",
    *_text("id", "account_id", "kind", "status", "currency", "counterparty_name", "counterparty_iban", "purpose"),
    *_numbers("amount"),
    *_dates("booking_date", "value_date"),
    *_stamps("completed_at", "updated_at"),
)

FIELDSERVICE_TABLES = (companies, customers, work_orders, contracts, invoice_drafts, invoice_draft_lines)
BANK_TABLES = (bank_customers, accounts, transactions)
