"""Remembered Lexware ids of contacts and financial accounts, with their own write-ahead state.

Creating a contact or a financial account is a POST like any other: without an idempotency key a timeout
may or may not have created it. So each mapping row follows the outbox's rule in small:

    (absent) --claim--> creating --mark_created--> created
                        creating --mark_unknown--> unknown --mark_created (reconciled: found)--> created
          creating|unknown --release (provably not created)--> (absent)
    (absent)|creating|unknown --adopt (found by lookup before creating)--> created

``contacts`` maps (tenant_id, customer_key) -> Lexware contact id; ``source_accounts`` maps (tenant_id,
source account key) -> financial account id; ``accounts`` (by IBAN) is the older map, read for rows staged
before accounts were keyed by their source identity. Every change is a conditional statement; a lost race changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from lexoffice.state.db import dialect_insert, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import account_map, contact_map, source_account_map


class MappingState(StrEnum):
    CREATING = "creating"
    CREATED = "created"
    UNKNOWN = "unknown"


class MappingTransitionError(Exception):
    """A mapping change that its current state does not allow."""


@dataclass(frozen=True)
class Mapping:
    tenant_id: str
    key: str
    state: MappingState
    lexware_id: str | None
    content_hash: str | None
    attempts: int
    last_error: str | None
    claimed_at: datetime
    created_at: datetime | None
    updated_at: datetime


class MappingTable:
    """Conditional-UPDATE operations on one mapping table (contact_map or account_map)."""

    def __init__(self, table: sa.Table, key_column: str, id_column: str, what: str) -> None:
        self.table = table
        self._key = table.c[key_column]
        self._id = table.c[id_column]
        self.what = what

    def __repr__(self) -> str:
        return f"MappingTable({self.table.name})"

    def _where(self, tenant_id: str, key: str) -> list[sa.ColumnElement[bool]]:
        return [self.table.c.tenant_id == tenant_id, self._key == key]

    def _mapping(self, row: sa.Row[Any]) -> Mapping:
        m = row._mapping
        return Mapping(
            tenant_id=m["tenant_id"],
            key=m[self._key.name],
            state=MappingState(m["state"]),
            lexware_id=m[self._id.name],
            content_hash=m["content_hash"],
            attempts=m["attempts"],
            last_error=m["last_error"],
            claimed_at=m["claimed_at"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
        )

    def get(self, engine: sa.Engine, *, tenant_id: str, key: str) -> Mapping | None:
        with read_transaction(engine) as conn:
            row = conn.execute(sa.select(self.table).where(*self._where(tenant_id, key))).first()
        return None if row is None else self._mapping(row)

    def list_for_tenant(
        self, engine: sa.Engine, *, tenant_id: str, states: Iterable[MappingState | str] | None = None
    ) -> list[Mapping]:
        query = sa.select(self.table).where(self.table.c.tenant_id == tenant_id).order_by(self._key)
        if states is not None:
            query = query.where(self.table.c.state.in_([MappingState(s).value for s in states]))
        with read_transaction(engine) as conn:
            return [self._mapping(r) for r in conn.execute(query)]

    def claim(self, engine: sa.Engine, *, tenant_id: str, key: str, content_hash: str | None = None) -> bool:
        """absent -> creating, committed before the POST. False if a mapping row already exists."""
        now = utcnow()
        with write_transaction(engine) as conn:
            inserted = conn.execute(
                dialect_insert(conn, self.table)
                .values(
                    {
                        "tenant_id": tenant_id,
                        self._key.name: key,
                        "state": MappingState.CREATING.value,
                        "content_hash": content_hash,
                        "attempts": 1,
                        "claimed_at": now,
                        "updated_at": now,
                    }
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", self._key.name])
                .returning(self.table.c.tenant_id)
            ).first()
        return inserted is not None

    def _change(
        self,
        engine: sa.Engine,
        tenant_id: str,
        key: str,
        sources: Iterable[MappingState],
        target: str,
        values: dict[str, Any],
    ) -> None:
        sources = list(sources)
        with write_transaction(engine) as conn:
            where = [*self._where(tenant_id, key), self.table.c.state.in_([s.value for s in sources])]
            if target == "absent":
                changed = conn.execute(sa.delete(self.table).where(*where)).rowcount
            else:
                statement = sa.update(self.table).where(*where)
                changed = conn.execute(statement.values(state=target, updated_at=utcnow(), **values)).rowcount
        if changed != 1:
            current = self.get(engine, tenant_id=tenant_id, key=key)
            state = current.state.value if current else "absent"
            raise MappingTransitionError(
                f"{self.what} mapping {tenant_id}/{key}: cannot move from '{state}' to '{target}' "
                f"(allowed from: {', '.join(s.value for s in sources)})"
            )

    def mark_created(self, engine: sa.Engine, *, tenant_id: str, key: str, lexware_id: str) -> None:
        """creating|unknown -> created: Lexware answered 2xx, or a reconcile found it."""
        if not lexware_id:
            raise ValueError("lexware_id must not be empty")
        self._change(
            engine,
            tenant_id,
            key,
            (MappingState.CREATING, MappingState.UNKNOWN),
            MappingState.CREATED.value,
            {self._id.name: lexware_id, "created_at": utcnow()},
        )

    def mark_unknown(
        self, engine: sa.Engine, *, tenant_id: str, key: str, error: str = "outcome of the create request unknown"
    ) -> None:
        """creating -> unknown: the POST may have created it; look it up before trying again."""
        self._change(
            engine, tenant_id, key, (MappingState.CREATING,), MappingState.UNKNOWN.value, {"last_error": error}
        )

    def release(self, engine: sa.Engine, *, tenant_id: str, key: str) -> None:
        """creating|unknown -> absent: provably not created (rejected, never executed, or not found)."""
        self._change(engine, tenant_id, key, (MappingState.CREATING, MappingState.UNKNOWN), "absent", {})

    def adopt(
        self, engine: sa.Engine, *, tenant_id: str, key: str, lexware_id: str, content_hash: str | None = None
    ) -> Mapping:
        """Remember an object that already exists in Lexware (found by lookup) instead of creating one.

        absent|creating|unknown -> created. Adopting the same id again is a no-op; a different id for an
        already created mapping is refused, because documents were already delivered against the first.
        """
        if not lexware_id:
            raise ValueError("lexware_id must not be empty")
        now = utcnow()
        with write_transaction(engine) as conn:
            conn.execute(
                dialect_insert(conn, self.table)
                .values(
                    {
                        "tenant_id": tenant_id,
                        self._key.name: key,
                        "state": MappingState.CREATED.value,
                        self._id.name: lexware_id,
                        "content_hash": content_hash,
                        "attempts": 0,
                        "claimed_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", self._key.name])
            )
            conn.execute(
                sa.update(self.table)
                .where(
                    *self._where(tenant_id, key),
                    self.table.c.state.in_([MappingState.CREATING.value, MappingState.UNKNOWN.value]),
                )
                .values(
                    {
                        "state": MappingState.CREATED.value,
                        self._id.name: lexware_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                    | ({} if content_hash is None else {"content_hash": content_hash})
                )
            )
            row = conn.execute(sa.select(self.table).where(*self._where(tenant_id, key))).one()
        mapping = self._mapping(row)
        if mapping.lexware_id != lexware_id:
            raise MappingTransitionError(
                f"{self.what} mapping {tenant_id}/{key} already points to {mapping.lexware_id}; "
                f"refusing to re-point it to {lexware_id}"
            )
        return mapping

    def set_content_hash(self, engine: sa.Engine, *, tenant_id: str, key: str, content_hash: str) -> None:
        """created -> created with a new body hash (the object was updated in Lexware)."""
        self._change(
            engine, tenant_id, key, (MappingState.CREATED,), MappingState.CREATED.value, {"content_hash": content_hash}
        )

    def orphaned_creating_to_unknown(self, engine: sa.Engine, *, tenant_id: str) -> int:
        """creating rows of a dead sender become unknown. Call only while holding the org lease."""
        with write_transaction(engine) as conn:
            return conn.execute(
                sa.update(self.table)
                .where(self.table.c.tenant_id == tenant_id, self.table.c.state == MappingState.CREATING.value)
                .values(
                    state=MappingState.UNKNOWN.value,
                    updated_at=utcnow(),
                    last_error="found in 'creating' when the organisation lease was taken; look it up first",
                )
            ).rowcount


contacts = MappingTable(contact_map, "customer_key", "lexware_contact_id", "contact")
accounts = MappingTable(account_map, "iban", "financial_account_id", "financial account")
source_accounts = MappingTable(source_account_map, "account_key", "financial_account_id", "financial account")

# Flat functions named after what they map, for callers that prefer them (delivery/contacts.py, accounts.py).
MapState = MappingState


def get_contact(engine: sa.Engine, *, tenant_id: str, customer_key: str) -> Mapping | None:
    return contacts.get(engine, tenant_id=tenant_id, key=customer_key)


def claim_contact(engine: sa.Engine, *, tenant_id: str, customer_key: str, content_hash: str | None = None) -> bool:
    return contacts.claim(engine, tenant_id=tenant_id, key=customer_key, content_hash=content_hash)


def mark_contact_created(engine: sa.Engine, *, tenant_id: str, customer_key: str, lexware_id: str) -> None:
    contacts.mark_created(engine, tenant_id=tenant_id, key=customer_key, lexware_id=lexware_id)


def mark_contact_unknown(
    engine: sa.Engine, *, tenant_id: str, customer_key: str, error: str = "outcome of the create request unknown"
) -> None:
    contacts.mark_unknown(engine, tenant_id=tenant_id, key=customer_key, error=error)


def release_contact(engine: sa.Engine, *, tenant_id: str, customer_key: str) -> None:
    contacts.release(engine, tenant_id=tenant_id, key=customer_key)


def adopt_contact(
    engine: sa.Engine, *, tenant_id: str, customer_key: str, lexware_id: str, content_hash: str | None = None
) -> Mapping:
    return contacts.adopt(
        engine, tenant_id=tenant_id, key=customer_key, lexware_id=lexware_id, content_hash=content_hash
    )


def get_account(engine: sa.Engine, *, tenant_id: str, iban: str) -> Mapping | None:
    return accounts.get(engine, tenant_id=tenant_id, key=iban)


def claim_account(engine: sa.Engine, *, tenant_id: str, iban: str, content_hash: str | None = None) -> bool:
    return accounts.claim(engine, tenant_id=tenant_id, key=iban, content_hash=content_hash)


def mark_account_created(engine: sa.Engine, *, tenant_id: str, iban: str, lexware_id: str) -> None:
    accounts.mark_created(engine, tenant_id=tenant_id, key=iban, lexware_id=lexware_id)


def mark_account_unknown(
    engine: sa.Engine, *, tenant_id: str, iban: str, error: str = "outcome of the create request unknown"
) -> None:
    accounts.mark_unknown(engine, tenant_id=tenant_id, key=iban, error=error)


def release_account(engine: sa.Engine, *, tenant_id: str, iban: str) -> None:
    accounts.release(engine, tenant_id=tenant_id, key=iban)


def adopt_account(
    engine: sa.Engine, *, tenant_id: str, iban: str, lexware_id: str, content_hash: str | None = None
) -> Mapping:
    return accounts.adopt(engine, tenant_id=tenant_id, key=iban, lexware_id=lexware_id, content_hash=content_hash)
