"""The demo data generator: deterministic, realistic, broken exactly where it says, and batched."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from demo import defects
from demo.generate import generate_bank, generate_fieldservice
from lexoffice.staging.invoices import iter_invoice_documents
from lexoffice.staging.transactions import iter_transaction_documents
from lexoffice.validation.checks import valid_iban

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
START = date(2025, 1, 1)
DAYS = 30
WHOLE = {"start": datetime(2024, 12, 1, tzinfo=BERLIN), "end": datetime(2025, 3, 1, tzinfo=BERLIN)}
FIELDSERVICE_TABLES = ("companies", "customers", "work_orders", "contracts", "invoice_drafts", "invoice_draft_lines")
BANK_TABLES = ("bank_customers", "accounts", "transactions")


def _dump(engine: sa.Engine, names: tuple[str, ...]) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {name: [tuple(row) for row in conn.execute(sa.text(f"SELECT * FROM {name} ORDER BY id"))]
                for name in names}


def _sqlite(tmp_path: Path, name: str) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp_path / name}")


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a.sqlite", 42), ("b.sqlite", 42), ("c.sqlite", 43)):
        engine = _sqlite(tmp_path, name)
        # Different batch sizes on purpose: the output must not depend on them.
        generate_fieldservice(engine, seed=seed, start=START, days=DAYS, batch_size=7 if name == "b.sqlite" else 5000)
        generate_bank(engine, seed=seed, start=START, days=DAYS, batch_size=13 if name == "b.sqlite" else 5000)
        dumps.append(_dump(engine, FIELDSERVICE_TABLES + BANK_TABLES))
        engine.dispose()
    assert dumps[0] == dumps[1]
    assert all(dumps[0][t] != dumps[2][t] for t in ("customers", "invoice_drafts", "transactions"))


def _documents(engine: sa.Engine, fieldservice: dict, bank: dict) -> tuple[dict, dict]:
    invoices = {d.doc_key.removeprefix("draft:"): d for company in fieldservice["company_ids"]
                for chunk in iter_invoice_documents(engine, company_id=company, chunk_size=25, **WHOLE)
                for d in chunk}
    with engine.connect() as conn:
        every_id = [row[0] for row in conn.execute(sa.text("SELECT id FROM transactions"))]
    transactions = {d.doc_key.removeprefix("txn:"): d for company in bank["company_ids"]
                    for chunk in iter_transaction_documents(engine, company_id=company, ids=every_id, chunk_size=90)
                    for d in chunk}
    return invoices, transactions


def test_every_broken_row_gets_its_reason_and_nothing_else_is_invalid(engine: sa.Engine) -> None:
    fieldservice = generate_fieldservice(engine, seed=5, drafts_per_company=120, start=START, days=DAYS,
                                         broken_fraction=0.3)
    bank = generate_bank(engine, seed=5, start=START, days=DAYS, broken_fraction=0.1)
    invoices, transactions = _documents(engine, fieldservice, bank)
    assert len(invoices) == fieldservice["counts"]["invoice_drafts"] == 240
    assert len(transactions) == bank["counts"]["transactions"] == 600
    got = {key: sorted({r.code for r in d.reasons}) for key, d in invoices.items() if d.reasons}
    assert got == fieldservice["expected_reasons"]
    got = {key: sorted({r.code for r in d.reasons}) for key, d in transactions.items() if d.reasons}
    assert got == bank["expected_reasons"]
    planted = {code for codes in fieldservice["expected_reasons"].values() for code in codes}
    catalogue = {d.code for d in (*defects.CUSTOMER_DEFECTS, *defects.DRAFT_DEFECTS, *defects.LINE_DEFECTS)}
    assert planted == catalogue | {d.code for d in defects.LINE_COUNT_DEFECTS}  # every defect was exercised
    assert all(d.payload is not None for d in invoices.values() if d.is_valid)


@pytest.mark.postgres
def test_sqlite_and_postgres_yield_identical_documents(tmp_path: Path, postgres_url: str) -> None:
    results = []
    for url in (f"sqlite:///{tmp_path / 'x.sqlite'}", postgres_url):
        engine = sa.create_engine(url)
        fieldservice = generate_fieldservice(engine, seed=9, drafts_per_company=30, start=START, days=DAYS,
                                             broken_fraction=0.2)
        bank = generate_bank(engine, seed=9, transactions_per_account=40, start=START, days=DAYS)
        invoices, transactions = _documents(engine, fieldservice, bank)
        results.append({key: (d.content_hash, d.payload, d.reasons, d.related, d.event_time, d.sort_key)
                        for key, d in (*invoices.items(), *transactions.items())})
        engine.dispose()
    assert results[0] == results[1]


def test_data_looks_like_german_businesses(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path, "real.sqlite")
    generate_fieldservice(engine, seed=1, drafts_per_company=80, start=START, days=DAYS, broken_fraction=0)
    generate_bank(engine, seed=1, start=START, days=DAYS, transactions_per_account=150, broken_fraction=0)
    with engine.connect() as conn:
        def values(sql: str) -> list:
            return [row[0] for row in conn.execute(sa.text(sql))]

        names = [n for n in values("SELECT name FROM companies") + values("SELECT company_name FROM customers") if n]
        assert any("GmbH & Co. KG" in n for n in names)
        assert any(ch in n for n in names for ch in "äöüß")
        assert set(values("SELECT DISTINCT origin FROM invoice_drafts")) == {"work_order", "contract", "manual"}
        assert values("SELECT COUNT(*) FROM invoice_drafts d JOIN work_orders w ON w.id = d.work_order_id")[0] == \
            values("SELECT COUNT(*) FROM invoice_drafts WHERE origin = 'work_order'")[0]
        assert values("SELECT COUNT(*) FROM invoice_drafts WHERE origin = 'contract' AND contract_id IS NULL")[0] == 0
        emails = [e for e in values("SELECT email FROM customers") if e]
        assert emails and all("@" in e and e.isascii() for e in emails)
        vat_ids = [v for v in values("SELECT vat_id FROM customers") if v]
        assert vat_ids and all(v.startswith("DE") and len(v) == 11 and v[2:].isdigit() for v in vat_ids)
        assert valid_iban(pd.Series(values("SELECT iban FROM accounts"), dtype="str")).all()
        assert values("SELECT COUNT(*) FROM accounts WHERE is_own = 0")[0] >= 1  # multi-banking accounts
        cards = conn.execute(sa.text(
            "SELECT booking_date, completed_at, status FROM transactions WHERE kind = 'card'")).all()
        completed_later = [c for c in cards if c.status == "completed" and c.completed_at[:10] > c.booking_date]
        assert len(completed_later) > len(cards) // 2  # card payments complete days after booking
        assert {c.status for c in cards} >= {"pending", "completed", "declined"}
    engine.dispose()


def test_rows_are_written_in_bounded_batches(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path, "batches.sqlite")
    sizes: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT"):
            sizes.append(len(parameters) if executemany else 1)

    sa.event.listen(engine, "before_cursor_execute", record)
    result = generate_bank(engine, seed=2, start=START, days=DAYS, transactions_per_account=120, batch_size=50)
    assert max(sizes) <= 50
    assert sum(sizes) == sum(result["counts"].values())
    engine.dispose()


def test_generated_windows_split_cleanly(tmp_path: Path) -> None:
    """Nightly windows over the generated period read every completed transaction of the bank's own accounts
    exactly once (accounts at other banks are out of scope, issue 17)."""
    engine = _sqlite(tmp_path, "nightly.sqlite")
    bank = generate_bank(engine, seed=4, start=START, days=DAYS, transactions_per_account=60)
    seen: list[str] = []
    night = datetime.combine(START, datetime.min.time(), BERLIN)
    for day in range(DAYS + 7):
        for chunk in iter_transaction_documents(engine, company_id="B001", start=night + timedelta(days=day),
                                                end=night + timedelta(days=day + 1)):
            seen += [d.doc_key for d in chunk]
    with engine.connect() as conn:
        completed = conn.execute(sa.text(
            "SELECT COUNT(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.company_id = 'B001' AND a.is_own AND t.completed_at IS NOT NULL")).scalar_one()
    assert len(seen) == len(set(seen)) == completed
    assert bank["counts"]["transactions"] > completed  # some are still pending, declined or reversed
    engine.dispose()


def test_command_line_fills_both_databases(tmp_path: Path) -> None:
    fieldservice, bank = tmp_path / "fs.sqlite", tmp_path / "bank.sqlite"
    process = subprocess.run(
        [sys.executable, "-m", "demo", "--fieldservice-url", f"sqlite:///{fieldservice}", "--bank-url",
         f"sqlite:///{bank}", "--seed", "42", "--scale", "small"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}", "PATH": "/usr/bin:/bin"},
    )
    assert process.returncode == 0, process.stderr
    summary = json.loads(process.stdout)
    assert summary["fieldservice"]["counts"]["invoice_drafts"] == 80
    assert summary["bank"]["counts"]["transactions"] == 600
    engine = sa.create_engine(f"sqlite:///{fieldservice}")
    assert _dump(engine, ("invoice_drafts",))["invoice_drafts"]
    engine.dispose()
    failed = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}", "PATH": "/usr/bin:/bin"})
    assert failed.returncode == 2 and "--fieldservice-url" in failed.stderr
