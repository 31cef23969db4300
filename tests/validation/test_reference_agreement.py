"""The vectorised rules and the per-row reference loop agree, reason for reason, on generated data.

The data comes from the demo generator with a high share of broken rows, read back through the real
extraction on SQLite and PostgreSQL, so the comparison covers nearly every rule on real column types.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from demo.generate import generate_bank, generate_fieldservice
from tests.support.oracles.reference_loop import validate_invoices_loop, validate_transactions_loop
from lexoffice.source.invoices import iter_invoice_frames
from lexoffice.source.transactions import iter_transaction_frames
from lexoffice.validation.invoices import validate_invoices
from lexoffice.validation.reasons import INVOICE_REASONS, TRANSACTION_REASONS
from lexoffice.validation.transactions import validate_transactions
from tests.source.databases import DIALECTS, EngineCache

BERLIN = ZoneInfo("Europe/Berlin")
START = date(2020, 5, 1)  # spans the reduced VAT rates of 2020-H2 and the return to 19 %
DAYS = 300
EXPORT_SINCE = datetime(2020, 9, 1, tzinfo=BERLIN)
ON_DATE = date(2021, 1, 15)


def _setup(engine: sa.Engine, dialect: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    invoices = generate_fieldservice(engine, seed=11, companies=2, drafts_per_company=150, start=START, days=DAYS,
                                     broken_fraction=0.35)
    bank = generate_bank(engine, seed=11, companies=1, accounts_per_company=5, transactions_per_account=60,
                         start=START, days=DAYS, broken_fraction=0.3)
    _break_accounts(engine)
    window = {"start": datetime.combine(START, datetime.min.time(), BERLIN) - timedelta(days=30),
              "end": datetime.combine(START, datetime.min.time(), BERLIN) + timedelta(days=DAYS + 30)}
    drafts, lines = [], []
    for company_id in invoices["company_ids"]:
        for page_drafts, page_lines in iter_invoice_frames(engine, company_id=company_id, chunk_size=120, **window):
            drafts.append(page_drafts)
            lines.append(page_lines)
    with engine.connect() as conn:
        every_id = [row[0] for row in conn.execute(sa.text("SELECT id FROM transactions"))]
    transactions = [page for company_id in bank["company_ids"]
                    for page in iter_transaction_frames(engine, company_id=company_id, ids=every_id)]
    return pd.concat(drafts, ignore_index=True), pd.concat(lines, ignore_index=True), pd.concat(
        transactions, ignore_index=True)


def _break_accounts(engine: sa.Engine) -> None:
    """Three of the five accounts broken the ways only an account can be (currency, IBAN missing or wrong)."""
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM accounts ORDER BY id"))]
        updates = ("currency = 'USD'", "iban = '', kind = 'giro'", "iban = 'DE00120300000000202051'")
        for account_id, change in zip(ids[-3:], updates, strict=True):
            conn.execute(sa.text(f"UPDATE accounts SET {change} WHERE id = :id"), {"id": account_id})


@pytest.fixture(scope="module")
def cache():
    engines = EngineCache(_setup)
    yield engines
    engines.dispose()


@pytest.fixture
def frames(cache: EngineCache, dialect: str, request, tmp_path_factory):
    return cache.get(dialect, request, tmp_path_factory.mktemp("agree"))[1]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invoice_rules_agree_with_the_reference_loop(frames) -> None:
    drafts, lines, _ = frames
    vectorised = validate_invoices(drafts, lines, on_date=ON_DATE)
    loop = validate_invoices_loop(drafts, lines, on_date=ON_DATE)
    assert vectorised.index.tolist() == loop.index.tolist() == drafts["id"].tolist()
    assert vectorised["reasons"].tolist() == loop["reasons"].tolist()
    seen = {reason.code for reasons in vectorised["reasons"] for reason in reasons}
    assert len(seen) >= 25, "the generated data should exercise most rules"
    assert seen <= {spec.code for spec in INVOICE_REASONS}
    assert sum(1 for reasons in vectorised["reasons"] if not reasons) > len(drafts) // 3  # many stay valid


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transaction_rules_agree_with_the_reference_loop(frames) -> None:
    _, _, transactions = frames
    vectorised = validate_transactions(transactions, export_since=EXPORT_SINCE)
    loop = validate_transactions_loop(transactions, export_since=EXPORT_SINCE)
    assert vectorised.index.tolist() == loop.index.tolist()
    assert vectorised["reasons"].tolist() == loop["reasons"].tolist()
    seen = {reason.code for reasons in vectorised["reasons"] for reason in reasons}
    assert seen == {spec.code for spec in TRANSACTION_REASONS}


def test_validation_accepts_raw_frames_from_read_sql(tmp_path) -> None:
    """The benchmark may hand over frames read any way: raw dtypes are coerced, results do not change."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'raw.sqlite'}")
    generate_fieldservice(engine, seed=3, companies=1, drafts_per_company=60, start=START, days=60,
                          broken_fraction=0.4)
    [(drafts, lines)] = list(iter_invoice_frames(engine, company_id="C001", ids=[f"C001-D{i:06d}" for i in
                                                                                  range(1, 61)]))
    raw_drafts = pd.read_sql(sa.text("SELECT * FROM invoice_drafts"), engine)
    companies = pd.read_sql(sa.text("SELECT * FROM companies"), engine).add_prefix("company_")
    customers = pd.read_sql(sa.text("SELECT * FROM customers"), engine).add_prefix("customer_")
    raw = (raw_drafts.merge(companies, on="company_id", how="left")
           .merge(customers.rename(columns={"customer_id": "customer_found_id"}).drop(columns="customer_company_id"),
                  left_on="customer_id", right_on="customer_found_id", how="left")
           .sort_values("id").reset_index(drop=True))
    raw["work_order_number"] = pd.read_sql(sa.text(
        "SELECT d.id, w.number FROM invoice_drafts d LEFT JOIN work_orders w ON w.id = d.work_order_id ORDER BY d.id"
    ), engine)["number"].to_numpy()
    raw["contract_number"] = pd.read_sql(sa.text(
        "SELECT d.id, c.number FROM invoice_drafts d LEFT JOIN contracts c ON c.id = d.contract_id ORDER BY d.id"
    ), engine)["number"].to_numpy()
    raw_lines = pd.read_sql(sa.text("SELECT * FROM invoice_draft_lines"), engine)
    assert raw["company_accounting_licensed"].dtype != bool  # really unprepared
    from_raw = validate_invoices(raw, raw_lines, on_date=ON_DATE)
    from_extraction = validate_invoices(drafts, lines, on_date=ON_DATE)
    assert from_raw["reasons"].tolist() == from_extraction["reasons"].tolist()
    engine.dispose()
