"""Every transaction reason code: rows that trigger it and rows that do not, through SQLite and PostgreSQL.

All scenarios are selected by id (a manual selection reads any status), with the tenant's export start
at 2025-03-01 00:00 in Europe/Berlin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.documents import StagedDocument
from lexoffice.staging.transactions import iter_transaction_documents
from lexoffice.validation.reasons import SHARED_REASONS, TRANSACTION_REASONS
from tests.source.databases import EngineCache
from tests.source.rows import TransactionRows, fresh_schemas, insert_transaction_rows, transaction_rows

Mutation = Callable[[TransactionRows], None]
EXPORT_SINCE = datetime(2025, 3, 1, tzinfo=ZoneInfo("Europe/Berlin"))


def txn(**values) -> Mutation:
    return lambda rows: rows.transaction.update(values)


def account(**values) -> Mutation:
    return lambda rows: rows.account.update(values)


def raw(column: str, value: object) -> Mutation:
    return lambda rows: rows.raw_updates.append(("transactions", column, value))


@dataclass(frozen=True)
class Variant:
    mutation: Mutation
    field: str | None = None
    sqlite_only: bool = False


@dataclass(frozen=True)
class Case:
    code: str
    bad: tuple[Variant, ...]
    good: tuple[Variant, ...] = (Variant(lambda rows: None),)


def v(mutation: Mutation, field: str | None = None, *, sqlite_only: bool = False) -> Variant:
    return Variant(mutation, field, sqlite_only)


CASES = [
    Case("TXN_NOT_COMPLETED",
         (v(txn(status="pending", completed_at=None), "status"),
          v(txn(status="completed", completed_at=None), "status"),
          v(txn(status="reversed"), "status"),
          v(txn(status="declined", completed_at=None), "status"))),
    Case("TXN_BEFORE_EXPORT_SINCE",
         (v(txn(completed_at=datetime(2025, 2, 28, 22, 59, 59, 999999, tzinfo=timezone.utc)), "completed_at"),),
         (v(txn(completed_at=datetime(2025, 2, 28, 23, 0, tzinfo=timezone.utc))),)),
    Case("TXN_ACCOUNT_NOT_OWN", (v(account(is_own=False, bank_name="Sparkasse KölnBonn"), "account.is_own"),)),
    Case("TXN_CURRENCY_NOT_EUR", (v(txn(currency="USD"), "currency"), v(txn(currency=None), "currency")),
         (v(txn(currency=" eur")),)),
    Case("TXN_AMOUNT_ZERO", (v(txn(amount=0.0), "amount"), v(txn(amount=None), "amount")),
         (v(txn(amount=0.01)), v(txn(amount=-0.01)))),
    Case("TXN_AMOUNT_TOO_PRECISE", (v(txn(amount=-12.345), "amount"),),
         (v(txn(amount=-12.34)), v(txn(amount=9_999_999.99)))),
    Case("TXN_DATE_INVALID",
         (v(txn(booking_date=None), "booking_date"), v(raw("value_date", "31.02.2025"), "value_date", sqlite_only=True),
          v(raw("booking_date", "2025-02-30"), "booking_date", sqlite_only=True)),
         (v(txn(value_date=None)),)),
    Case("TXN_COUNTERPARTY_IBAN_INVALID",
         (v(txn(counterparty_iban="DE02120300000000202052"), "counterparty_iban"),
          v(txn(counterparty_iban="DE0212030000000020205"), "counterparty_iban"),
          v(txn(counterparty_iban="keine IBAN"), "counterparty_iban"),
          v(txn(kind="card", counterparty_iban="GB82WEST12345698765431"), "counterparty_iban")),
         (v(txn(counterparty_iban="de02 1203 0000 0000 2020 51")), v(txn(counterparty_iban="GB82WEST12345698765432")),
          v(txn(counterparty_iban="FR1420041010050500013M02606")),
          # Issue 17: what the bank's customer cannot fix is sent, not held (no IBAN; control characters).
          v(txn(counterparty_iban=None)), v(txn(kind="direct_debit", counterparty_iban=" ")),
          v(txn(purpose="Miete\x07 Büro")), v(txn(counterparty_name="Müller\x1b GmbH")))),
    # Issue 15: ids too long to store, times that are no time, numbers that are no number, out-of-range amounts,
    # accounts Lexware cannot take.
    Case("SOURCE_ID_TOO_LONG",
         (v(txn(id="t" * 101), "id"), v(lambda rows: _account_id(rows, "a" * 101), "account_id")),
         (v(txn(id="t" * 100)),)),
    Case("SOURCE_TIMESTAMP_INVALID",
         (v(raw("completed_at", "2025-03-10 25:00:00"), "completed_at", sqlite_only=True),
          v(raw("completed_at", "gestern"), "completed_at", sqlite_only=True)),
         (v(raw("updated_at", "gestern"), sqlite_only=True),)),
    Case("TXN_ACCOUNT_CURRENCY_NOT_EUR", (v(account(currency="USD"), "account.currency"),),
         (v(account(currency="eur")),)),
    Case("TXN_ACCOUNT_IBAN_MISSING", (v(account(iban="", kind="giro"), "account.iban"),),
         (v(account(iban="", kind="card")), v(account(iban=" ", kind="card")))),
    Case("TXN_ACCOUNT_IBAN_INVALID", (v(account(iban="DE00120300000000202051"), "account.iban"),
                                      v(account(iban="keine", kind="card"), "account.iban"))),
    Case("TXN_AMOUNT_INVALID",
         (v(txn(amount=float("inf")), "amount"), v(txn(amount=float("-inf")), "amount"),
          v(raw("amount", "NaN"), "amount", sqlite_only=True), v(raw("amount", "zwölf"), "amount", sqlite_only=True))),
    Case("TXN_PURPOSE_TOO_LONG", (v(txn(purpose="p" * 2001), "purpose"),), (v(txn(purpose="p" * 2000)),)),
    Case("TXN_AMOUNT_OUT_OF_RANGE", (v(txn(amount=99_999_999_999_999.99), "amount"), v(txn(amount=-1e12), "amount")),
         (v(txn(amount=-999_999_999.99)),)),
]


def _account_id(rows: TransactionRows, account_id: str) -> None:
    rows.account.update(id=account_id, name="Konto mit langer Kennung")  # not shared (see _share_account)
    rows.transaction["account_id"] = account_id


def _scenarios(dialect: str) -> dict[str, TransactionRows]:
    built = {"base": transaction_rows("base")}
    for case in CASES:
        for kind, variants in (("bad", case.bad), ("good", case.good)):
            for number, variant in enumerate(variants):
                if variant.sqlite_only and dialect != "sqlite":
                    continue
                key = f"{case.code}-{kind}{number}"
                rows = transaction_rows(key)
                variant.mutation(rows)
                built[key] = rows
    return built


def _share_account(scenarios: dict[str, TransactionRows]) -> list[TransactionRows]:
    """Scenarios that leave customer and account as built share one of each (fewer extraction calls);
    returns one scenario per distinct account, whose customer and account rows are to be written."""
    default = transaction_rows("x")
    same = lambda a, b: {k: v for k, v in a.items() if k not in ("id", "company_id")} == {  # noqa: E731
        k: v for k, v in b.items() if k not in ("id", "company_id")}
    owners: dict[str, TransactionRows] = {}
    for rows in scenarios.values():
        if same(rows.account, default.account) and same(rows.customer, default.customer):
            rows.customer = {**rows.customer, "id": "bc-shared"}
            rows.account = {**rows.account, "id": "ac-shared", "company_id": "bc-shared"}
            rows.transaction["account_id"] = "ac-shared"
        owners.setdefault(rows.account["id"], rows)
    return list(owners.values())


def _setup(engine: sa.Engine, dialect: str) -> dict[str, StagedDocument]:
    scenarios = _scenarios(dialect)
    owners = _share_account(scenarios)
    fresh_schemas(engine)
    insert_transaction_rows(engine, *scenarios.values(), owners=owners)
    by_doc_key = {}
    for owner in owners:
        ids = [rows.transaction_id for rows in scenarios.values() if rows.company_id == owner.company_id]
        for chunk in iter_transaction_documents(engine, company_id=owner.company_id, ids=ids,
                                                export_since=EXPORT_SINCE):
            by_doc_key.update({document.doc_key: document for document in chunk})
    return {key: by_doc_key[payloads.transaction_doc_key(rows.transaction_id)] for key, rows in scenarios.items()}


@pytest.fixture(scope="module")
def cache():
    engines = EngineCache(_setup)
    yield engines
    engines.dispose()


@pytest.fixture
def documents(cache: EngineCache, dialect: str, request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, StagedDocument]:
    return cache.get(dialect, request, tmp_path_factory.mktemp("txn"))[1]  # type: ignore[return-value]


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
def test_broken_transaction_gets_exactly_its_reason(documents, code: str, number: int, variant: Variant) -> None:
    document = documents[f"{code}-bad{number}"]
    assert [reason.code for reason in document.reasons] == [code]
    reason = document.reasons[0]
    assert reason.field == variant.field
    assert reason.message_en and reason.message_de and reason.message_en != reason.message_de
    assert "{" not in reason.message_en + reason.message_de
    assert document.payload is None


@pytest.mark.parametrize("dialect, code, number, variant", _params("good"))
def test_transaction_at_the_limit_is_valid(documents, code: str, number: int, variant: Variant) -> None:
    document = documents[f"{code}-good{number}"]
    assert document.reasons == ()
    assert document.payload is not None and document.payload["externalReference"]


def test_every_transaction_reason_code_has_a_case() -> None:
    codes = [spec.code for spec in (*SHARED_REASONS, *TRANSACTION_REASONS)]
    assert sorted({case.code for case in CASES}) == sorted(codes)


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_export_since_message_shows_berlin_times(documents) -> None:
    [reason] = documents["TXN_BEFORE_EXPORT_SINCE-bad0"].reasons
    assert "completed on 2025-02-28 23:59" in reason.message_en and "2025-03-01 00:00" in reason.message_en
    assert "am 28.02.2025 23:59 abgeschlossen" in reason.message_de and "01.03.2025 00:00" in reason.message_de
