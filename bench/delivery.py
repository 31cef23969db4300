"""Run delivery scenarios as worker processes at the same moment, then judge them by the sandbox's request log.

The sandbox logs every authenticated request with its receive time and status, so rates, 429s and requests
per document are what Lexware's side saw, not what the client believes it sent.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from bench import deliver_worker
from bench.delivery_setup import PreparedTenant
from bench.infra import Infra
from bench.scales import FIXED_SLEEP_SECONDS, LEXWARE_RATE

CONTACT_PAGE = 250  # contacts per listing page (client.api.PAGE_SIZE_MAX)


def requests_per_second(total: int, first: float, last: float) -> float:
    """The one way every rate (and so every ratio of rates) is computed: ``total`` requests span ``total - 1``
    gaps from the first to the last one."""
    return (total - 1) / (last - first) if total > 1 and last > first else 0.0


@dataclass(frozen=True)
class RequestStats:
    total: int
    too_many: int
    invoice_posts: int
    contact_posts: int
    contact_lists: int
    first: float
    last: float

    @property
    def rate(self) -> float:
        """Requests per second from the first to the last request the sandbox received."""
        return requests_per_second(self.total, self.first, self.last)

    @property
    def per_run(self) -> int:
        """Executed requests that create nothing: the profile, contact listings, anything else."""
        return self.total - self.too_many - self.invoice_posts - self.contact_posts


def request_stats(log: list[dict[str, Any]], since: float) -> RequestStats:
    """Counts from the sandbox's log after ``since``; creates count only when executed (a 429 is not)."""
    entries = [e for e in log if e["t"] >= since]

    def count(method: str, prefix: str) -> int:
        return sum(1 for e in entries if e["method"] == method and e["path"].startswith(prefix) and e["status"] != 429)

    times = [e["t"] for e in entries]
    return RequestStats(
        total=len(entries), too_many=sum(1 for e in entries if e["status"] == 429),
        invoice_posts=count("POST", "/v1/invoices"), contact_posts=count("POST", "/v1/contacts"),
        contact_lists=count("GET", "/v1/contacts"), first=min(times, default=0.0), last=max(times, default=0.0),
    )


@dataclass
class Outcome:
    tenant: PreparedTenant
    wall: float
    sent: int
    error: str | None
    cpu_seconds: float
    stats: RequestStats

    @property
    def ok(self) -> bool:
        return self.error is None and self.sent == self.tenant.docs

    @property
    def ideal_wall(self) -> float:
        return self.tenant.docs / LEXWARE_RATE


class DeliveryRun:
    """All scenarios' workers: started together, released together with ``go``, collected at the end."""

    def __init__(self, infra: Infra, state_url: str, tenants: list[PreparedTenant]) -> None:
        self.infra = infra
        self.state_url = state_url
        self.tenants = tenants
        self.workers: list[tuple[BaseProcess, Connection]] = []
        self.go_time = 0.0

    def start(self) -> None:
        """Spawn a worker per tenant, wait until all have imported and connected, then release them at once."""
        context = multiprocessing.get_context("spawn")
        for tenant in self.tenants:
            parent, child = context.Pipe()
            process = context.Process(target=deliver_worker.run, name=f"deliver-{tenant.tenant_id}", daemon=True,
                                      args=({"state_url": self.state_url, "source_url": tenant.source_url,
                                             "tenant_id": tenant.tenant_id, "base_url": self.infra.sandbox.base_url,
                                             "api_key": tenant.api_key, "limiter": str(tenant.scenario.limiter),
                                             "fixed_sleep": FIXED_SLEEP_SECONDS}, child))
            process.start()
            child.close()
            self.workers.append((process, parent))
        for (process, conn), tenant in zip(self.workers, self.tenants, strict=True):
            answer = conn.recv() if conn.poll(300) else {"error": f"no answer (exit code {process.exitcode})"}
            if answer != {"ready": True}:
                raise RuntimeError(f"delivery worker {tenant.tenant_id} did not start: {answer.get('error')}")
        self.go_time = time.time()
        for _, conn in self.workers:
            conn.send("go")

    def expected_seconds(self) -> float:
        return max(t.docs * (FIXED_SLEEP_SECONDS + 0.1) for t in self.tenants) + 60

    def finish(self, timeout: float | None = None) -> dict[str, Outcome]:
        deadline = time.monotonic() + (timeout if timeout is not None else self.expected_seconds())
        outcomes = {}
        for (process, conn), tenant in zip(self.workers, self.tenants, strict=True):
            try:
                if conn.poll(max(1.0, deadline - time.monotonic())):
                    report = conn.recv()
                else:
                    report = {"error": "did not finish in time"}
            except EOFError:
                report = {"error": f"worker died (exit code {process.exitcode})"}
            log = self.infra.sandbox.admin("GET", f"/organizations/{tenant.org_id}/requests")
            result = report.get("result") or {}
            outcomes[tenant.scenario.key] = Outcome(
                tenant=tenant, wall=float(report.get("wall", math.nan)), sent=int(result.get("sent", 0)),
                error=report.get("error") or result.get("blocked"), cpu_seconds=float(report.get("cpu_seconds", 0)),
                stats=request_stats(log, self.go_time),
            )
        return outcomes

    def stop(self) -> None:
        for process, conn in self.workers:
            if process.is_alive():
                process.kill()
            process.join(5)
            conn.close()
