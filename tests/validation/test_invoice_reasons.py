"""Every invoice reason code: rows that trigger it and rows that do not, through real SQLite and PostgreSQL.

Each case breaks one valid document in exactly one way (``bad``) and keeps one close to the limit valid
(``good``). All scenarios are inserted once per dialect, extracted with ``iter_invoice_documents`` and
validated; each test then asserts on one scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.documents import StagedDocument
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.validation.reasons import INVOICE_REASONS
from tests.source.databases import EngineCache
from tests.source.rows import InvoiceRows, custom_line, fresh_schemas, insert_invoice_rows, invoice_rows

Mutation = Callable[[InvoiceRows], None]
ON_DATE = date(2025, 6, 1)


def company(**values) -> Mutation:
    return lambda rows: rows.company.update(values)


def customer(**values) -> Mutation:
    return lambda rows: rows.customer.update(values)


def draft(**values) -> Mutation:
    return lambda rows: rows.draft.update(values)


def line(**values) -> Mutation:
    return lambda rows: rows.lines[0].update(values)


def raw(table: str, column: str, value: object) -> Mutation:
    return lambda rows: rows.raw_updates.append((table, column, value))


def both(*mutations: Mutation) -> Mutation:
    def apply(rows: InvoiceRows) -> None:
        for mutation in mutations:
            mutation(rows)
    return apply


def lines_count(n: int) -> Mutation:
    return lambda rows: rows.lines.__setitem__(slice(None), [custom_line(rows.draft_id, p) for p in range(1, n + 1)])


def only_text_line(rows: InvoiceRows) -> None:
    rows.lines[:] = rows.lines[1:]
    rows.lines[0]["position"] = 1


def customer_of_other_company(rows: InvoiceRows) -> None:
    rows.customer["company_id"] = "co-base"


def remark_of(excess: int) -> Mutation:
    def apply(rows: InvoiceRows) -> None:
        reference = payloads.reference_line({**rows.draft, "work_order_number": rows.work_order["number"]})
        rows.draft["remark"] = "x" * (2000 - 1 - len(reference) + excess)
    return apply


def dated_2020(rate: float, *, period_end: date | None) -> Mutation:
    """Invoice dated 2021 for a service period that ended in the reduced-VAT half of 2020 (or no period)."""
    values: dict[str, object] = {"voucher_date": date(2021, 1, 5) if period_end else date(2020, 12, 31),
                                 "service_date": None}
    if period_end:
        values.update(service_period_start=period_end.replace(day=1), service_period_end=period_end)
    return both(draft(**values), line(tax_rate=rate))


@dataclass(frozen=True)
class Variant:
    mutation: Mutation
    field: str | None = None      # expected field of the reason (bad variants)
    sqlite_only: bool = False     # PostgreSQL cannot even store the broken value


@dataclass(frozen=True)
class Case:
    code: str
    bad: tuple[Variant, ...]
    good: tuple[Variant, ...] = (Variant(lambda rows: None),)


def v(mutation: Mutation, field: str | None = None, *, sqlite_only: bool = False) -> Variant:
    return Variant(mutation, field, sqlite_only)


CASES = [
    Case("COMPANY_NAME_MISSING", (v(company(name="   "), "company.name"),), (v(company(name="Ü")),)),
    Case("COMPANY_ADDRESS_INCOMPLETE", (v(company(zip=None, city=""), "company.address"),),
         (v(company(zip="01067", city="Dresden")),)),
    Case("COMPANY_TAX_ID_MISSING", (v(company(tax_number=None, vat_id=None), "company.tax_number"),),
         (v(company(tax_number=None)), v(company(vat_id=None)))),
    Case("COMPANY_VAT_ID_INVALID", (v(company(vat_id="DE12345678"), "company.vat_id"),),
         (v(company(vat_id="de 123 456 789")),)),
    Case("ACCOUNTING_NOT_LICENSED", (v(company(accounting_licensed=False), "company.accounting_licensed"),)),
    Case("ACCOUNTING_SOFTWARE_NOT_LEXOFFICE",
         (v(company(accounting_software="datev"), "company.accounting_software"),
          v(company(accounting_software=None), "company.accounting_software")),
         (v(company(accounting_software=" LexOffice ")), v(company(accounting_software="Lexware Office")))),
    Case("CUSTOMER_MISSING", (v(draft(customer_id=None), "customer_id"), v(customer_of_other_company, "customer_id"))),
    Case("CUSTOMER_NAME_MISSING",
         (v(customer(company_name=None), "customer.company_name"),
          v(customer(kind="person", company_name=None, last_name=" "), "customer.last_name"),
          v(customer(company_name="\u200b\u2060\ufeff"), "customer.company_name")),  # invisible only
         (v(customer(kind="person", company_name=None, salutation=None, first_name=None)),)),
    Case("CUSTOMER_SALUTATION_TOO_LONG", (v(customer(salutation="S" * 26), "customer.salutation"),),
         (v(customer(salutation="S" * 25)),)),
    Case("CUSTOMER_ADDRESS_INCOMPLETE", (v(customer(street=None), "customer.address"),),
         (v(customer(street="Am Rößleberg 1a")),)),
    Case("CUSTOMER_FIELD_TOO_LONG",
         (v(customer(street="s" * 256), "customer.street"), v(customer(zip="1" * 21), "customer.zip"),
          v(customer(city="c" * 256), "customer.city"), v(customer(email="a" * 250 + "@x.de"), "customer.email")),
         (v(customer(street="s" * 255, zip="1" * 20, city="c" * 255, email="a" * 248 + "@x.de")),)),
    Case("CUSTOMER_COUNTRY_INVALID",
         (v(customer(country_code="Deutschland"), "customer.country_code"),
          v(customer(country_code=None), "customer.country_code"),
          v(customer(country_code="XK"), "customer.country_code")),
         (v(customer(country_code=" at ")), v(customer(country_code="CH")))),
    Case("CUSTOMER_EMAIL_INVALID",
         (v(customer(email="max@@example.de"), "customer.email"), v(customer(email="info@firma"), "customer.email")),
         (v(customer(email=None)), v(customer(email="jürgen.müller@bäckerei-müller.de")))),
    Case("CUSTOMER_VAT_ID_INVALID", (v(customer(vat_id="DE 1234"), "customer.vat_id"),),
         (v(customer(vat_id="ATU12345678")), v(customer(vat_id=None)))),
    Case("VOUCHER_DATE_MISSING", (v(draft(voucher_date=None), "voucher_date"),)),
    Case("VOUCHER_DATE_INVALID", (v(raw("invoice_drafts", "voucher_date", "2025-02-30"), "voucher_date",
                                    sqlite_only=True),)),
    Case("SERVICE_DATE_INVALID", (v(raw("invoice_drafts", "service_date", "07.03.2025"), "service_date",
                                    sqlite_only=True),)),
    Case("SERVICE_PERIOD_INCOMPLETE",
         (v(draft(service_date=None, service_period_start=date(2025, 2, 1)), "service_period_end"),
          v(draft(service_date=None, service_period_end=date(2025, 2, 28)), "service_period_start")),
         (v(draft(service_date=None, service_period_start=date(2025, 2, 1), service_period_end=date(2025, 2, 28))),)),
    Case("SERVICE_PERIOD_END_BEFORE_START",
         (v(draft(service_date=None, service_period_start=date(2025, 2, 28), service_period_end=date(2025, 2, 1)),
            "service_period_end"),),
         (v(draft(service_date=None, service_period_start=date(2025, 2, 28), service_period_end=date(2025, 2, 28))),)),
    Case("CURRENCY_NOT_EUR", (v(draft(currency="CHF"), "currency"), v(draft(currency=None), "currency")),
         (v(draft(currency=" eur ")),)),
    Case("TITLE_TOO_LONG", (v(draft(title="Rechnung Schädlingsbekämpf"), "title"),),
         (v(draft(title="Rechnung Schädlingsbekämp")), v(draft(title=None)))),
    Case("INTRODUCTION_TOO_LONG", (v(draft(introduction="ä" * 2001), "introduction"),),
         (v(draft(introduction="ä" * 2000)),)),
    Case("REMARK_TOO_LONG", (v(remark_of(1), "remark"),), (v(remark_of(0)), v(draft(remark=None)))),
    Case("REFERENCE_LINE_TOO_LONG", (v(draft(number="N" * 2001, remark=None), "number"),
                                     v(draft(number="N" * 2001), "number")),
         (v(draft(number="N" * 100, remark=None)),)),
    Case("TEXT_CONTROL_CHARACTERS",
         (v(draft(title="Rech\x07nung"), "title"), v(customer(city="Köln\x0b"), "customer.city"),
          v(line(name="Köder\x1bstation"), "lines[1].name"), v(draft(number="RE\x1b[2J-1"), "number"),
          v(lambda rows: rows.work_order.update(number="WO\x1b-881"), "work_order_number")),
         (v(draft(introduction="Zeile 1\r\nZeile 2\tmit Tab")),)),
    Case("NO_LINES", (v(lines_count(0), "lines"),), (v(only_text_line),)),
    Case("TOO_MANY_LINES", (v(lines_count(301), "lines"),), (v(lines_count(300)),)),
    Case("LINE_NAME_MISSING", (v(line(name=" "), "lines[1].name"),), (v(line(name="X")),)),
    Case("LINE_NAME_TOO_LONG", (v(line(name="n" * 256), "lines[1].name"),), (v(line(name="n" * 255)),)),
    Case("LINE_DESCRIPTION_TOO_LONG", (v(line(description="d" * 2001), "lines[1].description"),),
         (v(line(description="d" * 2000)),)),
    Case("LINE_UNIT_MISSING", (v(line(unit_name=None), "lines[1].unit_name"),), (v(line(unit_name="m²")),)),
    Case("LINE_QUANTITY_OUT_OF_RANGE",
         (v(line(quantity=0.0), "lines[1].quantity"), v(line(quantity=-1.0), "lines[1].quantity"),
          v(line(quantity=1_000_000.0), "lines[1].quantity"), v(line(quantity=None), "lines[1].quantity"),
          v(raw("invoice_draft_lines", "quantity", "drei"), "lines[1].quantity", sqlite_only=True)),
         (v(line(quantity=999_999.9999)), v(line(quantity=0.0001)),
          v(lambda rows: rows.lines[1].update(quantity=-5.0)))),  # text lines carry no quantity
    Case("LINE_QUANTITY_TOO_PRECISE", (v(line(quantity=1.00001), "lines[1].quantity"),), (v(line(quantity=1.0001)),)),
    Case("LINE_PRICE_OUT_OF_RANGE",
         (v(line(unit_price=-0.01), "lines[1].unit_price"), v(line(unit_price=10_000_000.01), "lines[1].unit_price"),
          v(line(unit_price=None), "lines[1].unit_price")),
         (v(line(unit_price=0.0)), v(line(unit_price=10_000_000.0)))),
    Case("LINE_PRICE_TOO_PRECISE", (v(line(unit_price=0.12345), "lines[1].unit_price"),),
         (v(line(unit_price=0.1234)),)),
    Case("LINE_PRICE_KIND_MISMATCH", (v(line(price_kind="gross"), "lines[1].price_kind"),),
         (v(line(price_kind=None)), v(both(draft(tax_type="gross"), line(price_kind="gross"))))),
    Case("LINE_TAX_RATE_INVALID",
         (v(line(tax_rate=16.0), "lines[1].tax_rate"), v(line(tax_rate=None), "lines[1].tax_rate"),
          v(dated_2020(19.0, period_end=date(2020, 9, 30)), "lines[1].tax_rate"),
          v(dated_2020(19.0, period_end=None), "lines[1].tax_rate")),
         (v(line(tax_rate=7.0)), v(line(tax_rate=0.0)), v(dated_2020(16.0, period_end=date(2020, 9, 30))),
          v(dated_2020(5.0, period_end=None)))),
    Case("LINE_DISCOUNT_OUT_OF_RANGE",
         (v(line(discount_percentage=100.01), "lines[1].discount_percentage"),
          v(line(discount_percentage=-1.0), "lines[1].discount_percentage"),
          v(raw("invoice_draft_lines", "discount_percentage", "NaN"), "lines[1].discount_percentage",
            sqlite_only=True)),
         (v(line(discount_percentage=100.0)), v(line(discount_percentage=None)))),
    Case("LINE_DISCOUNT_TOO_PRECISE", (v(line(discount_percentage=2.555), "lines[1].discount_percentage"),),
         (v(line(discount_percentage=2.55)),)),
]


def _scenarios(dialect: str) -> dict[str, InvoiceRows]:
    built = {"base": invoice_rows("base")}
    for case in CASES:
        for kind, variants in (("bad", case.bad), ("good", case.good)):
            for number, variant in enumerate(variants):
                if variant.sqlite_only and dialect != "sqlite":
                    continue
                key = f"{case.code}-{kind}{number}"
                rows = invoice_rows(key)
                variant.mutation(rows)
                built[key] = rows
    return built


SHARED_COMPANY = "co-shared"


def _share_company(scenarios: dict[str, InvoiceRows]) -> None:
    """Scenarios that leave the company as built move to one shared company, so that extraction takes
    a few calls instead of one per scenario; company-level cases keep their own company."""
    default = {k: v for k, v in invoice_rows("x").company.items() if k != "id"}
    shared = None
    for key, rows in scenarios.items():
        if key == "base" or {k: v for k, v in rows.company.items() if k != "id"} != default:
            continue
        own = rows.company_id
        shared = shared or {**rows.company, "id": SHARED_COMPANY}
        rows.company = shared
        for row in (rows.draft, rows.customer, rows.work_order):
            if row.get("company_id") == own:
                row["company_id"] = SHARED_COMPANY


def _setup(engine: sa.Engine, dialect: str) -> dict[str, StagedDocument]:
    scenarios = _scenarios(dialect)
    _share_company(scenarios)
    fresh_schemas(engine)
    companies = {rows.company_id: rows for rows in scenarios.values()}
    insert_invoice_rows(engine, *scenarios.values(), companies=list(companies.values()))
    by_doc_key = {}
    for company_id in companies:
        ids = [rows.draft_id for rows in scenarios.values() if rows.company_id == company_id]
        for chunk in iter_invoice_documents(engine, company_id=company_id, ids=ids, on_date=ON_DATE):
            by_doc_key.update({document.doc_key: document for document in chunk})
    return {key: by_doc_key[payloads.invoice_doc_key(rows.draft_id)] for key, rows in scenarios.items()}


@pytest.fixture(scope="module")
def cache():
    engines = EngineCache(_setup)
    yield engines
    engines.dispose()


@pytest.fixture
def documents(cache: EngineCache, dialect: str, request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, StagedDocument]:
    return cache.get(dialect, request, tmp_path_factory.mktemp("reasons"))[1]  # type: ignore[return-value]


def _params(kind: str) -> list:
    params = []
    for case in CASES:
        for number, variant in enumerate(getattr(case, kind)):
            for dialect in ("sqlite", "postgres"):
                if variant.sqlite_only and dialect != "sqlite":
                    continue
                marks = [pytest.mark.postgres] if dialect == "postgres" else []
                params.append(pytest.param(dialect, case.code, number, variant,
                                           id=f"{dialect}-{case.code}-{kind}{number}", marks=marks))
    return params


@pytest.mark.parametrize("dialect, code, number, variant", _params("bad"))
def test_broken_row_gets_exactly_its_reason(documents, code: str, number: int, variant: Variant) -> None:
    document = documents[f"{code}-bad{number}"]
    assert [reason.code for reason in document.reasons] == [code]
    reason = document.reasons[0]
    assert reason.field == variant.field
    assert reason.message_en and reason.message_de and reason.message_en != reason.message_de
    assert "{" not in reason.message_en + reason.message_de
    assert document.payload is None and not document.is_valid


@pytest.mark.parametrize("dialect, code, number, variant", _params("good"))
def test_row_at_the_limit_is_valid(documents, code: str, number: int, variant: Variant) -> None:
    document = documents[f"{code}-good{number}"]
    assert document.reasons == ()
    assert document.payload is not None and document.payload["lineItems"]


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_base_document_is_valid(documents) -> None:
    assert documents["base"].is_valid


def test_every_invoice_reason_code_has_a_case() -> None:
    assert sorted(case.code for case in CASES) == sorted(spec.code for spec in INVOICE_REASONS)
    assert all(case.bad and case.good for case in CASES)


def test_reason_messages_name_the_values(tmp_path: Path) -> None:
    """Messages a person can act on: they carry the offending value, in each language's conventions."""
    engine = fresh_schemas(sa.create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}"))
    rows = invoice_rows("msg")
    rows.lines[0].update(tax_rate=16.0, quantity=1.23456)
    rows.customer.update(country_code="Deutschland", zip=None)
    insert_invoice_rows(engine, rows)
    [[document]] = iter_invoice_documents(engine, company_id=rows.company_id, ids=[rows.draft_id])
    by_code = {reason.code: reason for reason in document.reasons}
    assert by_code["LINE_TAX_RATE_INVALID"].message_en.startswith("Line 1 has tax rate 16 %, which is not valid on "
                                                                  "2025-03-07 (allowed: 0, 7, 19 %)")
    assert "am 07.03.2025 nicht gilt (erlaubt: 0, 7, 19 %)" in by_code["LINE_TAX_RATE_INVALID"].message_de
    assert "1,23456" in by_code["LINE_QUANTITY_TOO_PRECISE"].message_de
    assert "\u201cDeutschland\u201d" in by_code["CUSTOMER_COUNTRY_INVALID"].message_en
    assert "(missing: postcode)" in by_code["CUSTOMER_ADDRESS_INCOMPLETE"].message_en
    assert "(fehlt: PLZ)" in by_code["CUSTOMER_ADDRESS_INCOMPLETE"].message_de
    engine.dispose()
