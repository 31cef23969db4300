"""Delivery with a large backlog (issue 21 item 1): time to the first request and peak memory of the delivery
process with 10k, 100k and 1M pending invoice drafts in a PostgreSQL outbox.

Targets: first request within 5 s of the delivery starting, peak RSS < 500 MB at 1M, memory flat from 10k to 1M.
The drafts vary like real ones (2,000 customers, 1-5 lines, different amounts, dates and texts), not copies.
Each size is delivered by a fresh process for a fixed time (its time budget) against the sandbox over HTTP; the
parent samples the process's RSS every 0.1 s the whole time (not only at commits). PostgreSQL's own memory is
not included. Run: ``python -m bench.backlog --postgres-url URL [--sizes 10000,100000,1000000] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

TENANT = "backlog"
CUSTOMERS = 2000
TARGET_FIRST_REQUEST_S = 5.0
TARGET_PEAK_MB = 500.0


def _documents(start: int, stop: int, seed: int = 21) -> Iterator[Any]:
    from lexoffice.documents import StagedDocument, content_hash

    rng = random.Random(seed + start)
    day0 = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(start, stop):
        customer = rng.randrange(CUSTOMERS)
        when = day0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        lines = [{"type": "custom", "name": rng.choice(["Schädlingsbekämpfung", "Wartung Köder", "Anfahrt",
                                                         "Monitoring Q" + str(rng.randrange(1, 5))]),
                  "quantity": rng.randrange(1, 12), "unitName": "Stück",
                  "unitPrice": {"currency": "EUR", "netAmount": round(rng.uniform(4, 900), 2),
                                "taxRatePercentage": rng.choice([19, 7])}} for _ in range(rng.randrange(1, 6))]
        payload = {"voucherDate": when.strftime("%Y-%m-%dT00:00:00.000+01:00"), "lineItems": lines,
                   "totalPrice": {"currency": "EUR"}, "taxConditions": {"taxType": "net"},
                   "shippingConditions": {"shippingType": "none"}, "title": "Rechnung",
                   "remark": f"Auftrag {rng.randrange(10**6)}\nlxa:draft:{n}"}
        name = f"Kunde {customer:04d} {rng.choice(['GmbH', 'KG', 'e.K.'])}"
        contact = {"version": 0, "roles": {"customer": {}}, "company": {"name": name},
                   "addresses": {"billing": [{"street": f"Weg {customer}", "zip": f"{10000 + customer}",
                                              "city": "Musterstadt", "countryCode": "DE"}]}}
        yield StagedDocument(doc_key=f"draft:{n}", content_hash=content_hash(n, payload), payload=payload, reasons=(),
                             source_ref=f"RE-{n}", event_time=when, group_key=f"cust:{customer}",
                             sort_key=f"{n:09d}", related={"customer_key": f"cust:{customer}",
                                                           "lookup": {"name": name}, "contact": contact})


def _deliver(config: dict[str, Any], conn: Connection) -> None:
    """The delivery process: waits for "go", delivers for ``seconds``, reports when its first request went out."""
    from lexoffice.client import ApiKeyAuth, LexofficeClient
    from lexoffice.delivery.budget import Budget
    from lexoffice.delivery.invoices import InvoiceDelivery
    from lexoffice.state import make_engine, tenants

    state = make_engine(config["state_url"])
    tenant = tenants.get_tenant(state, TENANT)
    client = LexofficeClient(config["base_url"], ApiKeyAuth(config["api_key"]), allow_insecure_http=True)
    first: list[float] = []
    client.before_request = lambda: first.append(time.perf_counter()) if not first else None
    conn.send("ready")
    conn.recv()
    began = time.perf_counter()
    result = InvoiceDelivery(state, client, tenant, budget=Budget(config["seconds"])).run()
    conn.send({"first_request_s": (first[0] - began) if first else None, "sent": result.sent,
               "wall_s": time.perf_counter() - began})


def _measure(infra: Any, state_url: str, api_key: str, seconds: float) -> dict[str, Any]:
    import multiprocessing

    import psutil

    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    process = context.Process(target=_deliver, name="backlog-delivery", daemon=True, args=(
        {"state_url": state_url, "base_url": infra.sandbox.base_url, "api_key": api_key, "seconds": seconds}, child))
    process.start()
    child.close()
    assert conn.recv() == "ready"
    proc = psutil.Process(process.pid)
    base = proc.memory_info().rss
    conn.send("go")
    peak = base
    while not conn.poll(0.1):
        peak = max(peak, proc.memory_info().rss)
    outcome = conn.recv()
    process.join(30)
    return {**outcome, "rss_before_mb": base / 2**20, "peak_rss_mb": peak / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each size delivers")
    parser.add_argument("--postgres-url", required=True, help="a PostgreSQL server's maintenance-database URL")
    parser.add_argument("--sandbox-url")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    from bench.infra import provide
    from lexoffice.state import make_engine, outbox, tenants
    from lexoffice.state.db import init_db

    rows = []
    with provide(args.postgres_url, args.sandbox_url) as infra:
        state_url = infra.database("backlog")
        state = make_engine(state_url)
        init_db(state)
        org = infra.sandbox.admin("POST", "/organizations", json={"company_name": "Rückstand GmbH",
                                                                   "rate_limit_per_second": None})
        tenants.add_tenant(state, tenant_id=TENANT, name="Rückstand GmbH", lexoffice_conn_id="x")
        staged = 0
        for size in sizes:
            began = time.perf_counter()
            outbox.stage(state, tenant_id=TENANT, stream="invoices", docs=_documents(staged, size))
            stage_s = time.perf_counter() - began
            staged = size
            pending = outbox.counts(state, tenant_id=TENANT, stream="invoices")["pending"]
            measured = _measure(infra, state_url, org["api_key"], args.seconds)
            row = {"pending": pending, "stage_s": round(stage_s, 1), **measured}
            rows.append(row)
            print(json.dumps(row), flush=True)
    peaks = [r["peak_rss_mb"] for r in rows]
    firsts = [r["first_request_s"] for r in rows]
    print(f"\n| pending | first request | peak RSS | sent in {args.seconds:g} s |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['pending']:,} | {r['first_request_s']:.2f} s | {r['peak_rss_mb']:.0f} MB | {r['sent']} |")
    met = (all(f is not None and f <= TARGET_FIRST_REQUEST_S for f in firsts) and max(peaks) < TARGET_PEAK_MB
           and max(peaks) - min(peaks) < 0.25 * min(peaks))
    print(f"\ntargets (first request <= {TARGET_FIRST_REQUEST_S:g} s, peak < {TARGET_PEAK_MB:g} MB, flat within "
          f"25 % from the smallest to the largest backlog): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
