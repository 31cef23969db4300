"""One tenant's delivery in its own OS process (spawned by ``bench.delivery``).

Protocol over the pipe: the worker builds its engine, tenant and client factory, sends ``{"ready": True}``,
waits for ``"go"``, runs ``delivery.run.deliver_tenant`` with a real ``LexofficeClient`` over HTTP, and sends
one result dict. Waiting for ``go`` lets many workers start sending at the same moment.
"""

from __future__ import annotations

import logging
import resource
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.delivery_setup import Limiter
from bench.pacing import FixedSleep


def _limiter(kind: str, state: Any, fixed_sleep: float) -> Any:
    if kind == Limiter.DB:
        from lexoffice.provider.connections import rate_limiter

        return rate_limiter(state)  # the one connections.client_factory gives the DAGs
    if kind == Limiter.FIXED_SLEEP:
        return FixedSleep(fixed_sleep)
    raise ValueError(f"unknown limiter {kind!r}")


def run(config: dict[str, Any], conn: Connection) -> None:
    try:
        _deliver(config, conn)
    except Exception as exc:  # set-up failed: the parent reports it
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


def _deliver(config: dict[str, Any], conn: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    from lexoffice.delivery import run as delivery_run
    from lexoffice.client import ApiKeyAuth, LexofficeClient
    from lexoffice.documents import Stream
    from lexoffice.state import tenants
    from lexoffice.state.db import make_engine

    state = make_engine(config["state_url"])
    source = make_engine(config["source_url"])
    tenant = tenants.get_tenant(state, config["tenant_id"])
    limiter = _limiter(config["limiter"], state, config["fixed_sleep"])

    def client_factory(t: Any) -> LexofficeClient:
        return LexofficeClient(config["base_url"], ApiKeyAuth(config["api_key"]), rate_limiter=limiter,
                               rate_key=t.organization_id, allow_insecure_http=True)

    conn.send({"ready": True})
    if conn.recv() != "go":
        return
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    outcome: dict[str, Any] = {}
    error = None
    try:
        outcome = delivery_run.deliver_tenant(state_engine=state, tenant=tenant, stream=Stream.INVOICES,
                                          client_factory=client_factory, source_engine=source,
                                          run_id="bench").as_dict()
    except Exception as exc:  # reported in the table, never hidden
        error = f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - began
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    conn.send({"wall": wall, "result": outcome, "error": error,
               "cpu_seconds": cpu.ru_utime + cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime})
