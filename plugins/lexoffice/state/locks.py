"""Cross-process coordination in the state database: leases (one sender per organisation) and rate slots.

Airflow runs tasks in separate processes, often on separate machines; the only thing they share is the
state database, so that is where "who may send for organisation X" and "when may the next request to X
start" live. On PostgreSQL all times come from the database server's clock, so worker clock skew does not
matter; SQLite is always on one machine.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import db_now, dialect_insert, read_transaction, write_transaction
from lexoffice.state.schema import leases, rate_slots


class LeaseLost(RuntimeError):
    """The lease expired and another holder took it over: stop sending at once."""


class LeaseBusy(RuntimeError):
    """Someone else holds the lease (raised by the context manager; acquire() returns False instead)."""


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    generation: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


class Lease:
    """A named, expiring, exclusive lease held in the database.

    At most one live holder per name. A holder that dies (even by SIGKILL) stops renewing, and after
    ``ttl_seconds`` anyone may take the lease over; ``generation`` counts takeovers. Every Lease object has
    its own token, so two holders that pass the same display name still exclude each other.
    Not thread-safe: one Lease object per task.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        name: str,
        holder: str,
        ttl_seconds: float = 120.0,
        wait_seconds: float = 0.0,
        poll_seconds: float = 0.1,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._engine = engine
        self.name = name
        self.holder = holder
        self.ttl_seconds = ttl_seconds
        self.wait_seconds = wait_seconds  # used by the context manager
        self._poll = poll_seconds
        self._token = uuid.uuid4().hex
        self._held = False
        self._renewed_monotonic = 0.0
        self.generation: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, holder={self.holder!r}, held={self._held})"

    @property
    def held(self) -> bool:
        """Whether this object believes it holds the lease (renew() is the authoritative check)."""
        return self._held

    def _try_acquire(self) -> bool:
        with write_transaction(self._engine) as conn:
            now = db_now(conn)
            values = {
                "holder": self.holder,
                "token": self._token,
                "acquired_at": now,
                "renewed_at": now,
                "expires_at": now + timedelta(seconds=self.ttl_seconds),
            }
            row = conn.execute(
                sa.update(leases)
                .where(leases.c.name == self.name, sa.or_(leases.c.expires_at <= now, leases.c.token == self._token))
                .values(generation=leases.c.generation + 1, **values)
                .returning(leases.c.generation)
            ).first()
            if row is None:
                row = conn.execute(
                    dialect_insert(conn, leases)
                    .values(name=self.name, generation=1, **values)
                    .on_conflict_do_nothing(index_elements=["name"])
                    .returning(leases.c.generation)
                ).first()
        if row is None:
            return False
        self._held, self.generation, self._renewed_monotonic = True, int(row.generation), time.monotonic()
        return True

    def acquire(self, *, wait_seconds: float = 0) -> bool:
        """Take the lease if it is free or expired; wait up to ``wait_seconds`` for that. True if held."""
        deadline = time.monotonic() + wait_seconds
        while True:
            if self._try_acquire():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self._poll, remaining))

    def renew(self) -> None:
        """Extend the lease by ttl from now; raises LeaseLost if another holder has taken it over."""
        with write_transaction(self._engine) as conn:
            now = db_now(conn)
            renewed = conn.execute(
                sa.update(leases)
                .where(leases.c.name == self.name, leases.c.token == self._token)
                .values(renewed_at=now, expires_at=now + timedelta(seconds=self.ttl_seconds))
            ).rowcount
        if renewed != 1:
            self._held = False
            current = self.current()
            by = f"now held by {current.holder!r} (generation {current.generation})" if current else "now free"
            raise LeaseLost(f"lease {self.name!r} of {self.holder!r} expired and was taken over; it is {by}")
        self._renewed_monotonic = time.monotonic()

    def renew_if_due(self) -> None:
        """Renew when a third of the ttl has passed since the last renewal; cheap to call before each POST.

        After it returns at least two thirds of the ttl remain, so a request shorter than that cannot
        outlive the lease (keep the HTTP timeout well below ``ttl_seconds * 2/3``).
        """
        if not self._held:
            raise LeaseLost(f"lease {self.name!r} is not held by {self.holder!r}")
        if time.monotonic() - self._renewed_monotonic >= self.ttl_seconds / 3:
            self.renew()

    def release(self) -> None:
        """Give the lease up (idempotent); the next holder need not wait for the ttl."""
        with write_transaction(self._engine) as conn:
            conn.execute(sa.delete(leases).where(leases.c.name == self.name, leases.c.token == self._token))
        self._held = False

    def current(self) -> LeaseInfo | None:
        """Who holds the lease right now (possibly expired), for messages and diagnostics."""
        with read_transaction(self._engine) as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == self.name)).first()
        if row is None:
            return None
        m = row._mapping
        return LeaseInfo(
            name=m["name"],
            holder=m["holder"],
            generation=m["generation"],
            acquired_at=m["acquired_at"],
            renewed_at=m["renewed_at"],
            expires_at=m["expires_at"],
        )

    def __enter__(self) -> Lease:
        if not self.acquire(wait_seconds=self.wait_seconds):
            current = self.current()
            who = f"{current.holder!r} until {current.expires_at.isoformat()}" if current else "someone else"
            raise LeaseBusy(f"lease {self.name!r} is held by {who}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class OrganisationLease(Lease):
    """One sender per Lexware organisation, across processes and machines.

    Only the holder delivers or reconciles for the organisation; rows it finds in ``sending`` right after
    acquiring belong to a dead sender (see ``outbox.orphaned_sending_to_unknown``).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        org_key: str,
        holder: str,
        ttl_seconds: float = 120.0,
        wait_seconds: float = 0.0,
        poll_seconds: float = 0.5,
    ) -> None:
        if not org_key:
            raise ValueError("org_key must not be empty")
        super().__init__(
            engine,
            name=f"org:{org_key}",
            holder=holder,
            ttl_seconds=ttl_seconds,
            wait_seconds=wait_seconds,
            poll_seconds=poll_seconds,
        )
        self.org_key = org_key


@dataclass(frozen=True)
class RateSlot:
    """A reserved send slot: ``at`` and ``now`` in the database's clock (epoch seconds), ``read_at`` this
    machine's ``time.monotonic()`` when ``now`` was read."""

    at: float
    now: float
    read_at: float


class DbRateLimiter:
    """Implements the client's RateLimiter across processes: one shared slot schedule per key.

    ``acquire`` reserves the next send slot for ``key`` in one short transaction (slot = max(now, next_at);
    next_at = slot + interval), commits, and only then sleeps until the slot, so waiting holds no lock and
    waiters are served in order. ``interval_seconds`` is how far apart slots start (the client's
    ``SAFE_INTERVAL_SECONDS``, which ``connections.client_factory`` passes). The sleep is timed on this machine's monotonic clock from the moment
    the database read "now", so the time the commit takes (an fsync, a busy server) does not make the request
    late, which would bring it closer to the next one than the interval.
    """

    def __init__(self, engine: sa.Engine, *, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._engine = engine
        self.interval = interval_seconds
        self._left_at: dict[str, float] = {}  # per key: when this process's last request left (monotonic)

    def __repr__(self) -> str:
        return f"DbRateLimiter(interval={self.interval:.3f}s)"

    def reserve(self, key: str) -> float:
        """Reserve the next slot for ``key``; return how many seconds from now it starts."""
        slot = self.reserve_slot(key)
        return slot.at - slot.now

    def reserve_slot(self, key: str) -> RateSlot:
        """Reserve the next slot for ``key`` in one transaction.

        The slot times are the limiter's own decisions, so the spacing it promises can be checked without the
        jitter between a slot and the request's arrival.
        """
        select_locked = sa.select(rate_slots.c.next_at).where(rate_slots.c.key == key).with_for_update()
        with write_transaction(self._engine) as conn:
            row: Any = conn.execute(select_locked).first()
            if row is None:
                conn.execute(
                    dialect_insert(conn, rate_slots)
                    .values(key=key, next_at=0.0)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                row = conn.execute(select_locked).one()
            now = db_now(conn).timestamp()  # read after the row lock: no stale "now" after a wait
            read_at = time.monotonic()
            slot = max(now, float(row.next_at))
            conn.execute(sa.update(rate_slots).where(rate_slots.c.key == key).values(next_at=slot + self.interval))
        return RateSlot(at=slot, now=now, read_at=read_at)

    def acquire(self, key: str) -> None:
        """Block until one request for ``key`` may be sent."""
        slot = self.reserve_slot(key)
        start = slot.read_at + (slot.at - slot.now)
        previous = self._left_at.get(key)
        if previous is not None:
            start = max(start, previous + self.interval)
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._left_at[key] = time.monotonic()
