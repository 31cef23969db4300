"""``python -m demo``: create the source schemas and fill them with demo data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from demo.generate import generate_bank, generate_fieldservice


@dataclass(frozen=True)
class Scale:
    companies: int
    drafts_per_company: int
    bank_companies: int
    accounts_per_company: int
    transactions_per_account: int
    days: int
    collect_expected: bool


#: bench: just over 1,000,000 invoice lines (4 x 72,000 drafts x 3.5 lines) and exactly 1,000,000 transactions
#: (4 companies x (4 own + 1 foreign) accounts x 50,000).
SCALES = {
    "small": Scale(companies=2, drafts_per_company=40, bank_companies=2, accounts_per_company=2,
                   transactions_per_account=100, days=30, collect_expected=True),
    "bench": Scale(companies=4, drafts_per_company=72_000, bank_companies=4, accounts_per_company=4,
                   transactions_per_account=50_000, days=365, collect_expected=False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--fieldservice-url", help="SQLAlchemy URL of the field-service source database")
    parser.add_argument("--bank-url", help="SQLAlchemy URL of the bank source database")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1),
                        help="first day of generated activity (default 2025-01-01)")
    parser.add_argument("--days", type=int, help="length of the generated period (default depends on --scale)")
    args = parser.parse_args(argv)
    if not args.fieldservice_url and not args.bank_url:
        parser.error("give --fieldservice-url, --bank-url or both")
    scale = SCALES[args.scale]
    days = args.days or scale.days
    summary: dict[str, object] = {"seed": args.seed, "scale": args.scale, "start": args.start.isoformat(), "days": days}
    if args.fieldservice_url:
        began = time.perf_counter()
        engine = sa.create_engine(args.fieldservice_url)
        try:
            result = generate_fieldservice(engine, seed=args.seed, companies=scale.companies,
                                           drafts_per_company=scale.drafts_per_company, start=args.start,
                                           days=days, collect_expected=scale.collect_expected)
        finally:
            engine.dispose()
        summary["fieldservice"] = _summary(result, time.perf_counter() - began, scale.collect_expected)
    if args.bank_url:
        began = time.perf_counter()
        engine = sa.create_engine(args.bank_url)
        try:
            result = generate_bank(engine, seed=args.seed, companies=scale.bank_companies,
                                   accounts_per_company=scale.accounts_per_company,
                                   transactions_per_account=scale.transactions_per_account, start=args.start,
                                   days=days, collect_expected=scale.collect_expected)
        finally:
            engine.dispose()
        summary["bank"] = _summary(result, time.perf_counter() - began, scale.collect_expected)
    json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _summary(result: dict[str, object], seconds: float, collected: bool) -> dict[str, object]:
    expected = result["expected_reasons"]
    assert isinstance(expected, dict)
    return {"company_ids": result["company_ids"], "counts": result["counts"],
            "documents_expected_invalid": len(expected) if collected else None, "seconds": round(seconds, 1)}


if __name__ == "__main__":
    raise SystemExit(main())
