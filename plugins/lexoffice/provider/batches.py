"""Tenants per task: how a run's tenants are shared out over the mapped tenant groups, and how one task works
through its batch so that one tenant's failure never stops the others.

Why batches: Airflow's scheduler checks every task instance of a run that has not run yet in each of its loops,
so one group per tenant makes the loop grow with the tenant count (2,000 tenants: 8,001 task instances, about 16
started a minute; docs/benchmarks.md). Up to ``LEXOFFICE_TENANT_GROUPS`` tenants (default 64) each keep a group
of their own; more are shared out evenly among that many groups, and a batch's deliveries run side by side (each
tenant is its own Lexware organisation with its own rate budget).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow.sdk.exceptions import AirflowException, AirflowFailException

log = logging.getLogger(__name__)

GROUPS_ENV = "LEXOFFICE_TENANT_GROUPS"
DEFAULT_GROUPS = 64
#: At most this many tenants of one batch deliver (or read their status) at the same time, in threads of the
#: task's process: each waits for its organisation's rate budget most of the time, so threads are enough. Each
#: thread holds a state-DB connection while it writes; 32 threads took up to 97 connections at 8 slots.
SIDE_BY_SIDE = 8
#: Airflow stores the grid label of a map index in 250 characters.
LABEL_LENGTH = 250

T = TypeVar("T")
_current_tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("lexoffice_tenant", default=None)


def max_groups() -> int:
    """``LEXOFFICE_TENANT_GROUPS``: how many tenant groups a run maps at most (default 64)."""
    from lexoffice.settings import number_from_env

    value = number_from_env(GROUPS_ENV, DEFAULT_GROUPS, unit="tenant groups", example=str(DEFAULT_GROUPS))
    if value != int(value):
        raise ValueError(f"{GROUPS_ENV} must be a whole number of tenant groups, got {value:g} "
                         f"(e.g. {DEFAULT_GROUPS})")
    return int(value)


def share_out(tenants: Sequence[T], groups: int) -> list[list[T]]:
    """Consecutive batches, order kept, sizes differing by at most one; one tenant per batch while they fit."""
    if not tenants:
        return []
    count = min(groups, len(tenants))
    size, larger = divmod(len(tenants), count)
    batches, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < larger else 0)
        batches.append(list(tenants[start:end]))
        start = end
    return batches


def label(batch: Sequence[Mapping[str, str]]) -> str:
    """The grid's name for a batch: the tenant's name, or the first and last name and how many."""
    names = [str(t.get("name") or t.get("tenant_id")) for t in batch]
    if len(names) == 1:
        return names[0][:LABEL_LENGTH]
    tail = f" ({len(names)} Mandanten)"
    room = (LABEL_LENGTH - len(tail) - 3) // 2
    return f"{names[0][:room]} … {names[-1][:room]}{tail}"


@dataclass
class Outcome:
    """What one step did for each tenant of a batch: its result, or the error that stopped that tenant."""

    results: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)

    def as_xcom(self) -> dict[str, Any]:
        """Per tenant id: the step's result, or ``{"failed": reason}`` (what the next steps skip and report)."""
        return {**self.results, **{tid: {"failed": reason(err)} for tid, err in self.failed.items()}}


def reason(err: BaseException) -> str:
    return str(err) or type(err).__name__


def failure(result: Any) -> str | None:
    """The reason an upstream step gave up on this tenant (its ``as_xcom`` entry), if it did."""
    return str(result["failed"]) if isinstance(result, Mapping) and "failed" in result else None


def run_each(tenant_ids: Sequence[str], step: Callable[[str], Any], *, what: str,
             side_by_side: bool = False) -> Outcome:
    """Run ``step`` for each tenant (in threads when ``side_by_side``); an error stops only its tenant."""
    outcome = Outcome()
    prefix = len(tenant_ids) > 1

    def one(tenant_id: str) -> None:
        token = _current_tenant.set(tenant_id if prefix else None)
        try:
            outcome.results[tenant_id] = step(tenant_id)
        except Exception as err:  # noqa: BLE001 - recorded per tenant; finish() decides what the task does
            if prefix:  # a task of one tenant fails with this very error, and Airflow logs it
                log.error("%s für Mandant %s fehlgeschlagen / %s failed for tenant %s: %s", what, tenant_id, what,
                          tenant_id, reason(err), exc_info=not isinstance(err, AirflowFailException))
            outcome.failed[tenant_id] = err
        finally:
            _current_tenant.reset(token)

    with _tenant_prefix_in_logs(prefix):
        if side_by_side and len(tenant_ids) > 1:
            with ThreadPoolExecutor(max_workers=min(SIDE_BY_SIDE, len(tenant_ids)),
                                    thread_name_prefix="lexoffice-tenant") as pool:
                list(pool.map(one, tenant_ids))
        else:
            for tenant_id in tenant_ids:
                one(tenant_id)
    return outcome


def finish(outcome: Outcome, *, what: str, retries_left: bool, partial_ok: bool = True) -> None:
    """Decide what the task does after its batch: nothing when every tenant succeeded; raise when every tenant
    failed (one tenant: its own error, so Airflow treats it exactly as before); raise to make Airflow retry the
    batch when a failure may pass and a try is left (a retry repeats the batch: staging is idempotent and a
    delivery sends each document once, so the tenants already done cost a few lookups). Otherwise return, and
    the failures travel on as ``{"failed": reason}`` for the report, which fails the run naming them (the report
    itself passes ``partial_ok=False``: it is the step that fails for them)."""
    if not outcome.failed:
        return
    if not outcome.results and len(outcome.failed) == 1:
        raise next(iter(outcome.failed.values()))
    lines = "\n".join(f"  {tid}: {reason(err)}" for tid, err in outcome.failed.items())
    summary = (f"{what}: {len(outcome.failed)} von {len(outcome.failed) + len(outcome.results)} Mandanten "
               f"fehlgeschlagen / failed for {len(outcome.failed)} tenant(s):\n{lines}")
    may_pass = any(not isinstance(err, AirflowFailException) for err in outcome.failed.values())
    log.error("%s", summary)
    if may_pass and retries_left:
        raise AirflowException(summary + "\nAirflow retries the batch; nothing is sent twice.")
    if not outcome.results or not partial_ok:
        raise AirflowFailException(summary)


def retries_left(context: Mapping[str, Any]) -> bool:
    """Whether Airflow will try this task again if it fails now."""
    ti = context.get("ti")
    try_number, max_tries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    if not isinstance(try_number, int) or not isinstance(max_tries, int):
        return False
    return try_number <= max_tries


class _TenantPrefix(logging.Filter):
    """Starts each log line with ``[tenant]`` while a batch of several tenants runs (their lines interleave)."""

    def filter(self, record: logging.LogRecord) -> bool:
        tenant = _current_tenant.get()
        if tenant and not getattr(record, "_lexoffice_prefixed", False):
            record.msg = f"[{tenant}] {record.msg}"
            record._lexoffice_prefixed = True  # type: ignore[attr-defined]  # one prefix however many handlers
        return True


@contextlib.contextmanager
def _tenant_prefix_in_logs(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    prefix, handlers = _TenantPrefix(), list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(prefix)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(prefix)
