"""``python -m bench --postgres-url URL [--scale tiny|full] [--only delivery|staging]``: one table.

``bench/run.sh`` starts the PostgreSQL server (PostgreSQL's defaults, fsync on) and passes its URL.
Exits 0 when every measurement completed (targets met or not), 1 when one of them failed (a FAILED row).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import machine
from bench.runner import PARTS, has_failures, measure, notes, rows, write_json
from bench.scales import SCALES
from bench.table import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full",
                        help="full: the sizes the issues name (about 20 min); tiny: every row in a minute or two")
    parser.add_argument("--postgres-url", required=True,
                        help="a PostgreSQL server's maintenance-database URL; the run creates its own databases")
    parser.add_argument("--sandbox-url", help="use this running sandbox instead of starting one")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[bench {time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    about = machine.describe()
    results = measure(scale, postgres_url=args.postgres_url, sandbox_url=args.sandbox_url,
                      parts=tuple(args.only or PARTS), log=progress)
    if args.json:
        write_json(results, args.json)
    end_load = machine.describe()["load"]
    print(f"lexoffice-airflow benchmarks, scale {scale.name}, {about['date']}")
    print(f"machine: {about['cpu']}, {about['cores']} cores, {about['memory']}; load {about['load']}; "
          f"at the end {end_load}")
    print(f"software: Python {about['python']}, Airflow {about['airflow']}, pandas {about['pandas']}, "
          f"SQLAlchemy {about['sqlalchemy']}")
    table = rows(results)
    print()
    print(render(table))
    print()
    for note in notes(results):
        print(f"* {note}")
    return 1 if has_failures(table) else 0  # a missed target is a result; a measurement that failed is not


if __name__ == "__main__":
    raise SystemExit(main())
