"""Deterministic demo data for both source databases, from a handful of rows up to a million.

Same seed, same rows: every company draws from its own ``random.Random`` seeded by (seed, stream,
company), so output does not depend on batch sizes or on other companies. Rows are written with
executemany in batches of ``batch_size`` and buffers are emptied after each batch, so memory stays flat
at any scale; only the map of expected reasons grows with the number of broken rows (switch it off with
``collect_expected=False`` for benchmark volumes).
"""

from __future__ import annotations

import functools
import math
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from demo import defects, names
from demo.source_db import create_schema, insert_rows
from lexoffice import payloads
from lexoffice.source import tables
from lexoffice.validation.tax import allowed_tax_rates, is_reduced

BERLIN = ZoneInfo("Europe/Berlin")
Row = dict[str, Any]


class _Writer:
    """Buffers rows per table and writes them parent-first in one transaction per batch."""

    def __init__(self, engine: sa.Engine, order: Iterable[sa.TableClause], batch_size: int) -> None:
        self.engine = engine
        self.order = list(order)
        self.batch_size = batch_size
        self.buffers: dict[str, list[Row]] = {t.name: [] for t in self.order}
        self.counts: dict[str, int] = {t.name: 0 for t in self.order}

    def add(self, table: sa.TableClause, row: Row) -> None:
        self.buffers[table.name].append(row)
        if len(self.buffers[table.name]) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not any(self.buffers.values()):
            return
        with self.engine.begin() as conn:
            for table in self.order:
                rows = self.buffers[table.name]
                if rows:
                    insert_rows(conn, table, rows)
                    self.counts[table.name] += len(rows)
                    self.buffers[table.name] = []


@dataclass
class _Expected:
    enabled: bool
    reasons: dict[str, list[str]] = field(default_factory=dict)

    def add(self, doc_id: str, codes: Iterable[str]) -> None:
        codes = sorted(set(codes))
        if self.enabled and codes:
            self.reasons[doc_id] = codes


def _rng(seed: int, stream: str, company: int) -> random.Random:
    return random.Random(f"{seed}:{stream}:{company}")


def _moment(rng: random.Random, start: date, days: int) -> datetime:
    """A random instant in the ``days`` Berlin days from ``start``, in UTC with microseconds."""
    return _begin(start) + timedelta(seconds=rng.randrange(days * 86400), microseconds=rng.randrange(1_000_000))


@functools.lru_cache(maxsize=64)
def _begin(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BERLIN).astimezone(timezone.utc)


def _berlin_date(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()


def _window_end(start: date, days: int) -> datetime:
    return _begin(start + timedelta(days=days))


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def german_iban(rng: random.Random) -> str:
    """A German IBAN with correct check digits (random bank code and account number)."""
    bban = f"{rng.randrange(10_000_000, 100_000_000)}{rng.randrange(10**10):010d}"
    check = 98 - int(bban + "131400") % 97  # "DE00" moved to the end: D=13, E=14
    return f"DE{check:02d}{bban}"


def _vat_id(rng: random.Random) -> str:
    return f"DE{rng.randrange(100_000_000, 400_000_000)}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- field service -------------------------------------------------------------------------------------

def generate_fieldservice(
    engine: sa.Engine,
    *,
    seed: int,
    companies: int = 2,
    drafts_per_company: int = 40,
    lines_per_draft: tuple[int, int] = (1, 6),
    start: date,
    days: int,
    broken_fraction: float = 0.05,
    batch_size: int = 5000,
    collect_expected: bool = True,
) -> dict[str, Any]:
    """Fill the field-service source (creating its schema) and describe what was written.

    Returns counts per table, the company ids, and ``expected_reasons``: draft id -> sorted reason codes
    for every draft that was broken on purpose (drafts not listed must validate cleanly).
    """
    if days < 1 or companies < 1 or lines_per_draft[0] < 1 or lines_per_draft[1] < lines_per_draft[0]:
        raise ValueError("need days >= 1, companies >= 1 and 1 <= min lines <= max lines")
    create_schema(engine, "fieldservice")
    writer = _Writer(engine, tables.FIELDSERVICE_TABLES, batch_size)
    expected = _Expected(collect_expected)
    company_ids = []
    for index in range(companies):
        company_ids.append(_fieldservice_company(writer, expected, _rng(seed, "fieldservice", index), index,
                                                 drafts_per_company, lines_per_draft, start, days, broken_fraction))
    writer.flush()
    return {"company_ids": company_ids, "counts": dict(writer.counts), "expected_reasons": expected.reasons}


def _fieldservice_company(writer: _Writer, expected: _Expected, rng: random.Random, index: int, n_drafts: int,
                          lines_per_draft: tuple[int, int], start: date, days: int, broken: float) -> str:
    company_id = f"C{index + 1:03d}"
    name, street, zip_code, city, tax_number = names.FIELDSERVICE_COMPANIES[index % len(names.FIELDSERVICE_COMPANIES)]
    if index >= len(names.FIELDSERVICE_COMPANIES):
        name = f"{name} (Niederlassung {index + 1})"
    writer.add(tables.companies, {
        "id": company_id, "name": name, "street": street, "zip": zip_code, "city": city, "country_code": "DE",
        "tax_number": tax_number, "vat_id": _vat_id(rng), "accounting_licensed": True,
        "accounting_software": "lexoffice", "updated_at": _moment(rng, start - timedelta(days=365), 30),
    })
    customers = [_customer(rng, company_id, n, start) for n in range(max(5, n_drafts // 4))]
    customer_codes: dict[str, str] = {}
    if broken > 0:
        for n, customer in enumerate(rng.sample(customers, math.ceil(len(customers) * broken))):
            defect = defects.CUSTOMER_DEFECTS[n % len(defects.CUSTOMER_DEFECTS)]
            defect.apply(customer)
            customer_codes[customer["id"]] = defect.code
    contracts: dict[str, Row] = {}
    for customer in customers:
        writer.add(tables.customers, customer)
    writer.flush()  # parents before children, whatever the batch boundaries

    schedule = [*defects.DRAFT_DEFECTS, *defects.LINE_DEFECTS, *defects.LINE_COUNT_DEFECTS]
    broken_count = 0
    too_many_used = False
    for n in range(n_drafts):
        customer = rng.choice(customers)
        defect: Any = None
        if rng.random() < broken:
            defect = schedule[broken_count % len(schedule)]
            broken_count += 1
            if defect is defects.TOO_MANY_LINES and too_many_used:
                defect = defects.NO_LINES
            too_many_used = too_many_used or defect is defects.TOO_MANY_LINES
        draft = _draft(writer, rng, company_id, n, customer, contracts, start, days)
        codes = []
        if defect in defects.DRAFT_DEFECTS:
            defect.apply(draft)
            codes.append(defect.code)
        if draft["customer_id"] in customer_codes:  # not after CUSTOMER_MISSING removed the customer
            codes.append(customer_codes[draft["customer_id"]])
        count = defect.line_count if isinstance(defect, defects.LineCountDefect) else rng.randint(*lines_per_draft)
        lines = _lines(rng, draft, count)
        if isinstance(defect, defects.LineCountDefect):
            codes.append(defect.code)
        if defect in defects.LINE_DEFECTS:
            target = next(line for line in lines if line["type"] == "custom")
            defect.apply(target, is_reduced(payloads.relevant_date(draft, draft["voucher_date"])))
            codes.append(defect.code)
        _office_facts(draft, lines, _window_end(start, days))
        writer.add(tables.invoice_drafts, draft)
        for line in lines:
            writer.add(tables.invoice_draft_lines, line)
        expected.add(draft["id"], codes)
    return company_id


#: Share of demo drafts whose send the office requested ("An die Buchhaltung senden"); the rest stay unsent in
#: send mode 'requested', so the demo shows both kinds.
REQUESTED_SHARE = 0.7
_CENT = Decimal("0.01")


def _office_facts(draft: Row, lines: list[Row], end: datetime) -> None:
    """``send_requested_at`` for most drafts and the source's own gross total (tax rounded per line, as many
    source systems do, so some totals differ from Lexware's by a cent). Drawn from a generator of the draft's
    own, so the other demo rows stay what they were."""
    rng = random.Random(f"{draft['id']}:office")
    if rng.random() < REQUESTED_SHARE:
        changed = draft["updated_at"] or draft["created_at"]
        draft["send_requested_at"] = min(changed + timedelta(minutes=rng.randrange(5, 600)),
                                         end - timedelta(microseconds=1))
    total = Decimal(0)
    try:
        for line in lines:
            if line.get("type") != "custom":
                continue
            discount = Decimal(str(line.get("discount_percentage") or 0))
            amount = (Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"])) * (100 - discount) / 100
                      ).quantize(_CENT, rounding=ROUND_HALF_UP)
            if draft["tax_type"] == "net":
                amount += (amount * Decimal(str(line["tax_rate"])) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
            total += amount
    except (TypeError, ValueError, ArithmeticError):
        return  # a line broken on purpose: the source shows no total
    draft["source_gross_total"] = float(total)


def _customer(rng: random.Random, company_id: str, n: int, start: date) -> Row:
    is_company = rng.random() < 0.6
    female = rng.random() < 0.5
    first = rng.choice(names.FIRST_NAMES_FEMALE if female else names.FIRST_NAMES_MALE)
    last = rng.choice(names.SURNAMES)
    if rng.random() < 0.85:
        city, prefix = rng.choice(names.CITIES_DE)
        country, zip_code = "DE", f"{prefix}{rng.randrange(1000):03d}"
    else:
        city, country, zip_code = rng.choice(names.CITIES_ABROAD)
    customer: Row = {
        "id": f"{company_id}-K{n + 1:05d}", "company_id": company_id, "kind": "company" if is_company else "person",
        "salutation": "Frau" if female else "Herr", "first_name": first, "last_name": last,
        "street": f"{rng.choice(names.STREETS)} {rng.randrange(1, 180)}{rng.choice(['', '', '', 'a', 'b'])}",
        "zip": zip_code, "city": city, "country_code": country,
        "updated_at": _moment(rng, start - timedelta(days=400), 365),
    }
    if is_company:
        if rng.random() < 0.2:
            company = f"{last} & {rng.choice(names.SURNAMES)} GmbH & Co. KG"
        else:
            company = f"{rng.choice(names.BUSINESS_PREFIXES)} {last}{rng.choice(names.LEGAL_FORMS)}"
        domain = names.transliterate(company.split(" ")[0] + "-" + last).lower() + ".de"
        customer.update(company_name=company, vat_id=_vat_id(rng) if country == "DE" and rng.random() < 0.7 else None,
                        email=f"rechnung@{domain}" if rng.random() < 0.8 else None)
        if rng.random() < 0.3:  # no contact person
            customer.update(salutation=None, first_name=None, last_name=None)
    else:
        local = names.transliterate(f"{first}.{last}").lower()
        customer.update(company_name=None, vat_id=None,
                        email=f"{local}@{rng.choice(names.EMAIL_DOMAINS)}" if rng.random() < 0.7 else None)
    return customer


def _draft(writer: _Writer, rng: random.Random, company_id: str, n: int, customer: Row,
           contracts: dict[str, Row], start: date, days: int) -> Row:
    created = _moment(rng, start, days)
    end = _window_end(start, days)
    updated = None
    if rng.random() < 0.3:
        updated = min(created + timedelta(minutes=rng.randrange(30, 4 * 24 * 60)), end - timedelta(microseconds=1))
    voucher = _berlin_date(created)
    draft: Row = {
        "id": f"{company_id}-D{n + 1:06d}", "company_id": company_id, "customer_id": customer["id"],
        "number": f"RE-{voucher.year}-{n + 1:05d}", "voucher_date": voucher,
        "title": rng.choice(names.TITLES), "introduction": rng.choice(names.INTRODUCTIONS),
        "remark": rng.choice(names.REMARKS), "currency": "EUR",
        "tax_type": "net" if customer["kind"] == "company" else "gross",
        "service_date": None, "service_period_start": None, "service_period_end": None,
        "work_order_id": None, "contract_id": None, "created_at": created, "updated_at": updated,
    }
    roll = rng.random()
    if roll < 0.5:
        completed = created - timedelta(hours=rng.randrange(1, 5 * 24))
        work_order = {
            "id": f"{company_id}-W{n + 1:06d}", "company_id": company_id, "customer_id": customer["id"],
            "number": f"WO-{rng.randrange(100, 99999)}", "description": rng.choice(names.WORK_ORDER_DESCRIPTIONS),
            "completed_at": completed, "updated_at": completed,
        }
        writer.add(tables.work_orders, work_order)
        draft.update(origin="work_order", work_order_id=work_order["id"], service_date=_berlin_date(completed))
    elif roll < 0.8:
        contract = contracts.get(customer["id"])
        if contract is None:
            contract = {
                "id": f"{company_id}-V{len(contracts) + 1:05d}", "company_id": company_id,
                "customer_id": customer["id"], "number": f"V-{start.year - 1}-{len(contracts) + 1:04d}",
                "description": rng.choice(names.CONTRACT_DESCRIPTIONS), "valid_from": date(start.year - 1, 1, 1),
                "valid_until": None, "updated_at": _moment(rng, start - timedelta(days=300), 100),
            }
            contracts[customer["id"]] = contract
            writer.add(tables.contracts, contract)
        period_end = voucher.replace(day=1) - timedelta(days=1)  # billed monthly in arrears
        draft.update(origin="contract", contract_id=contract["id"], title="Rechnung Wartungsvertrag",
                     service_period_start=period_end.replace(day=1), service_period_end=period_end)
    else:
        draft["origin"] = "manual"
        if rng.random() < 0.5:
            draft["service_date"] = voucher - timedelta(days=rng.randrange(0, 10))
    return draft


def _lines(rng: random.Random, draft: Row, count: int) -> list[Row]:
    relevant = payloads.relevant_date(draft, _berlin_date(draft["created_at"]))
    standard, reduced = sorted(allowed_tax_rates(relevant))[2], sorted(allowed_tax_rates(relevant))[1]
    gross = draft["tax_type"] == "gross"
    lines = []
    text_at = rng.randrange(count) if count > 1 and rng.random() < 0.25 else -1
    for position in range(1, count + 1):
        line: Row = {"id": f"{draft['id']}-{position:03d}", "draft_id": draft["id"], "position": position}
        if position - 1 == text_at:
            text_name, text_description = rng.choice(names.TEXT_LINES)
            line.update(type="text", name=text_name, description=text_description)
        else:
            name, unit, (low, high), is_reduced, quantity_kind = rng.choice(names.ITEMS)
            rate = reduced if is_reduced else standard
            price = _money(rng, low, high) if quantity_kind != "km" else round(rng.uniform(low, high), 4)
            if gross:
                price = round(price * (1 + rate / 100), 2)
            line.update(type="custom", name=name, description=rng.choice(names.ITEM_DESCRIPTIONS),
                        quantity=_quantity(rng, quantity_kind), unit_name=unit, unit_price=price,
                        price_kind="gross" if gross else "net", tax_rate=rate,
                        discount_percentage=rng.choice((None, None, None, 0.0, 5.0, 10.0, 2.5)))
        lines.append(line)
    return lines


def _quantity(rng: random.Random, kind: str) -> float:
    if kind == "one":
        return 1.0
    if kind == "half":
        return rng.randrange(1, 17) / 2
    if kind == "quarter":
        return rng.randrange(2, 13) / 4
    if kind == "area":
        return float(rng.randrange(20, 400))
    if kind == "km":
        return float(rng.randrange(5, 80))
    return float(rng.randrange(1, 25))


# --- bank ----------------------------------------------------------------------------------------------

def generate_bank(
    engine: sa.Engine,
    *,
    seed: int,
    companies: int = 2,
    accounts_per_company: int = 2,
    transactions_per_account: int = 100,
    start: date,
    days: int,
    foreign_accounts_per_company: int = 1,
    broken_fraction: float = 0.05,
    batch_size: int = 5000,
    collect_expected: bool = True,
) -> dict[str, Any]:
    """Fill the bank source (creating its schema) and describe what was written.

    Each company gets ``accounts_per_company`` own accounts (a giro account, a card account, then
    alternating) plus ``foreign_accounts_per_company`` accounts connected from other banks. Card payments
    complete one to five days after booking; those that would complete after the generated period stay
    pending. ``expected_reasons`` maps transaction id -> codes for every transaction that must not be
    sent (pending/declined/reversed, foreign account, or broken on purpose).
    """
    if days < 1 or companies < 1 or accounts_per_company < 1:
        raise ValueError("need days >= 1, companies >= 1 and accounts_per_company >= 1")
    create_schema(engine, "bank")
    writer = _Writer(engine, tables.BANK_TABLES, batch_size)
    expected = _Expected(collect_expected)
    company_ids = []
    for index in range(companies):
        rng = _rng(seed, "bank", index)
        company_id = f"B{index + 1:03d}"
        company_ids.append(company_id)
        name = names.BANK_CUSTOMERS[index % len(names.BANK_CUSTOMERS)]
        writer.add(tables.bank_customers, {"id": company_id, "name": name,
                                           "updated_at": _moment(rng, start - timedelta(days=400), 365)})
        accounts = [_account(rng, company_id, n, own=True) for n in range(accounts_per_company)]
        accounts += [_account(rng, company_id, accounts_per_company + n, own=False)
                     for n in range(foreign_accounts_per_company)]
        for account in accounts:
            writer.add(tables.accounts, account)
        writer.flush()
        broken_count = 0
        for account in accounts:
            for _ in range(transactions_per_account):
                defect = None
                if rng.random() < broken_fraction:
                    defect = defects.TRANSACTION_DEFECTS[broken_count % len(defects.TRANSACTION_DEFECTS)]
                    broken_count += 1
                txn, codes = _transaction(rng, account, start, days, defect)
                writer.add(tables.transactions, txn)
                expected.add(txn["id"], codes)
    writer.flush()
    return {"company_ids": company_ids, "counts": dict(writer.counts), "expected_reasons": expected.reasons}


def _account(rng: random.Random, company_id: str, n: int, *, own: bool) -> Row:
    kind = "card" if own and n % 2 == 1 else "giro"
    if own:
        fallback = f"{'Karte' if kind == 'card' else 'Unterkonto'} {n}"
        name = {0: "Geschäftskonto", 1: "Firmenkreditkarte"}.get(n, fallback)
    else:
        name = "Hausbank (Multi-Banking)"
    return {
        "id": f"{company_id}-A{n + 1:02d}", "company_id": company_id, "iban": german_iban(rng), "name": name,
        "bank_name": names.OWN_BANK if own else rng.choice(names.OTHER_BANKS), "currency": "EUR", "is_own": own,
        "kind": kind, "updated_at": _moment(rng, date(2020, 1, 1), 1),
    }


def _transaction(rng: random.Random, account: Row, start: date, days: int,
                 defect: defects.TransactionDefect | None) -> tuple[Row, list[str]]:
    booked = _moment(rng, start, days)
    end = _window_end(start, days)
    roll = rng.random()
    if defect is not None and defect.needs_transfer:
        kind = "transfer"
    elif account["kind"] == "card":
        kind = "card" if roll < 0.95 else "fee"
    else:
        kind = "transfer" if roll < 0.45 else "direct_debit" if roll < 0.6 else "card" if roll < 0.95 else "fee"
    txn: Row = {"id": _uuid(rng), "account_id": account["id"], "kind": kind, "currency": "EUR",
                "counterparty_iban": None, "purpose": None}
    if kind == "transfer":
        incoming = rng.random() < 0.5
        number = rng.randrange(1, 99999)
        month = f"{_berlin_date(booked):%m/%Y}"
        template = rng.choice(names.TRANSFER_PURPOSES_IN if incoming else names.TRANSFER_PURPOSES_OUT)
        txn.update(amount=_money(rng, 50, 5000) * (1 if incoming else -1),
                   counterparty_name=rng.choice(names.TRANSFER_PARTNERS), counterparty_iban=german_iban(rng),
                   purpose=template.format(n=number, month=month))
        completed = booked + timedelta(hours=rng.randrange(1, 12))
    elif kind == "direct_debit":
        creditor, purpose = rng.choice(names.DIRECT_DEBITS)
        txn.update(amount=-_money(rng, 20, 800), counterparty_name=creditor, counterparty_iban=german_iban(rng),
                   purpose=f"{purpose} {_berlin_date(booked):%m/%Y}")
        completed = booked + timedelta(hours=rng.randrange(1, 12))
    elif kind == "card":
        refund = rng.random() < 0.05
        merchant = rng.choice(names.CARD_MERCHANTS)
        txn.update(amount=_money(rng, 2, 400) * (1 if refund else -1), counterparty_name=merchant,
                   purpose=f"{'Erstattung' if refund else 'Kartenzahlung'} {merchant}")
        completed = booked + timedelta(days=rng.randint(1, 5), hours=rng.randrange(0, 12))
    else:
        txn.update(amount=-_money(rng, 1, 15), counterparty_name=account["bank_name"], purpose="Kontoführungsgebühr")
        completed = booked + timedelta(hours=1)
    status_roll = rng.random()
    if kind == "card" and status_roll < 0.03:
        status, completed_at = "declined", None
    elif kind == "card" and status_roll < 0.05:
        status, completed_at = "reversed", None
    elif completed >= end:
        status, completed_at = "pending", None
    else:
        status, completed_at = "completed", completed
    txn.update(status=status, completed_at=completed_at, booking_date=_berlin_date(booked),
               value_date=_berlin_date(completed_at or booked), updated_at=completed_at or booked)
    codes = []
    if status != "completed":
        codes.append("TXN_NOT_COMPLETED")
    if not account["is_own"]:
        codes.append("TXN_ACCOUNT_NOT_OWN")
    if defect is not None:
        defect.apply(txn, rng)
        codes.append(defect.code)
    return txn, codes
