"""A delivery in a process of its own, so a test can SIGKILL it mid-POST or run several at once.

It does what a DAG run's stage and deliver tasks do for one tenant (``staging.stage.stage_tenant`` and
``delivery.run.deliver_tenant``, with the Airflow connections from the environment), and prints the delivery
result, with its start and end time, as one JSON line. With ``--ready-file`` and ``--go-file`` it says when
it is ready and waits for the signal, so several children start at the same moment.

    python -m tests.reliability.child --state-url URL --tenant T --stream invoices [--stream transactions] \
        [--source-url URL ... --from 2026-10-05 --to 2026-10-05] [--run-id ID] [--lease-ttl S] [--ready-file P --go-file P]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-url", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--stream", choices=["invoices", "transactions"], action="append", required=True,
                        help="repeat for both; each is staged and delivered in turn")
    parser.add_argument("--source-url", action="append", default=[],
                        help="per --stream, in the same order: stage from it first (needs --from and --to)")
    parser.add_argument("--from", dest="from_day")
    parser.add_argument("--to", dest="to_day", help="inclusive")
    parser.add_argument("--run-id", default=f"child-{os.getpid()}")
    parser.add_argument("--lease-ttl", type=float, default=120.0)
    parser.add_argument("--go-file", type=Path, help="wait for this file before staging")
    parser.add_argument("--ready-file", type=Path, help="create this file once imported and ready to go")
    args = parser.parse_args(argv)

    from lexoffice.delivery import run as delivery_run
    from lexoffice.provider import connections
    from lexoffice.provider.hooks import LexofficeHook
    from lexoffice.staging import stage
    from lexoffice.documents import Stream
    from lexoffice.state import tenants
    from lexoffice.state.db import init_db, make_engine
    from lexoffice.staging.windows import Window, day_start

    state = make_engine(args.state_url)
    init_db(state)
    tenant = tenants.get_tenant(state, args.tenant)
    sources = [make_engine(url) for url in args.source_url]
    if args.ready_file is not None:
        args.ready_file.touch()
    if args.go_file is not None:
        while not args.go_file.exists():
            time.sleep(0.01)
    started = time.time()
    results = []
    for position, name in enumerate(args.stream):
        stream = Stream(name)
        source = sources[position] if position < len(sources) else None
        if source is not None:
            start = day_start(date.fromisoformat(args.from_day))
            end = day_start(date.fromisoformat(args.to_day) + timedelta(days=1))
            stage.stage_tenant(state_engine=state, source_engine=source, tenant=tenant, stream=stream,
                                  window=Window(start, end), run_id=args.run_id)
        result = delivery_run.deliver_tenant(
            state_engine=state, tenant=tenant, stream=stream, client_factory=connections.client_factory(state),
            source_engine=source if stream == Stream.INVOICES else None, run_id=args.run_id,
            lease_ttl=args.lease_ttl,
            confirm_grace_seconds=LexofficeHook(tenant.lexoffice_conn_id).confirm_grace_seconds(),
        )
        results.append({k: v for k, v in result.as_dict().items() if k != "would_send"})
    print(json.dumps({"results": results, "started": started, "finished": time.time()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
