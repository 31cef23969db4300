"""The sandbox's whole state behind one lock: organisations, credentials, API documents and runtime counters.

Every change happens inside ``transaction()``, which holds the lock and writes the changed records to the
persistence before the lock is released, so concurrent tenants never see half a change and a restart never
loses an acknowledged one. Routes validate before they mutate, so a failed request changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.faults import FaultQueue
from sandbox.persistence import Persistence
from sandbox.ratelimit import TokenBucket
from sandbox.records import (AccessToken, ApiKey, AuthorizationCode, Grant, OAuthClient, Organization, Principal,
                             digest)

RECORD_KINDS: dict[str, type] = {
    "organizations": Organization,
    "api_keys": ApiKey,
    "oauth_clients": OAuthClient,
    "auth_codes": AuthorizationCode,
    "grants": Grant,
    "access_tokens": AccessToken,
}
DOCUMENT_KINDS = ("contacts", "invoices", "financial_accounts", "transactions")


class Documents:
    """API documents of one kind (plain JSON dicts), by id and per organisation, in creation order."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self._by_org: dict[str, dict[str, dict[str, Any]]] = {}

    def add(self, key: str, document: dict[str, Any]) -> None:
        self.by_id[key] = document
        self._by_org.setdefault(document["organizationId"], {})[key] = document

    def remove(self, key: str) -> None:
        """Forget a document (a draft the accountant deleted); persisted as a deletion by ``touch``."""
        document = self.by_id.pop(key)
        self._by_org[document["organizationId"]].pop(key, None)

    def get(self, organization_id: str, key: str) -> dict[str, Any] | None:
        return self._by_org.get(organization_id, {}).get(key)

    def for_org(self, organization_id: str) -> list[dict[str, Any]]:
        return list(self._by_org.get(organization_id, {}).values())

    def count(self, organization_id: str) -> int:
        return len(self._by_org.get(organization_id, {}))

    def clear(self) -> None:
        self.by_id.clear()
        self._by_org.clear()


@dataclass
class RequestRecord:
    t: float
    method: str
    path: str
    status: int | None = None
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"t": self.t, "method": self.method, "path": self.path, "status": self.status, "fault": self.fault}


@dataclass
class OrgRuntime:
    """Per-organisation things that are deliberately not persisted: the bucket, the request log, counters."""

    bucket: TokenBucket
    requests: list[RequestRecord] = field(default_factory=list)
    rate_limited: int = 0


class SandboxState:
    def __init__(self, persistence: Persistence) -> None:
        self.lock = threading.RLock()
        self._persistence = persistence
        self._dirty: dict[tuple[str, str], None] = {}
        self.records: dict[str, dict[str, Any]] = {kind: {} for kind in RECORD_KINDS}
        self.documents: dict[str, Documents] = {kind: Documents() for kind in DOCUMENT_KINDS}
        self.faults = FaultQueue()
        self.runtime: dict[str, OrgRuntime] = {}
        self.contact_read_lag_seconds = 0.0
        self.contact_visible_at: dict[str, float] = {}
        self._load()

    # --- typed views -------------------------------------------------------------------------------------
    @property
    def organizations(self) -> dict[str, Organization]:
        return self.records["organizations"]

    @property
    def api_keys(self) -> dict[str, ApiKey]:
        return self.records["api_keys"]

    @property
    def oauth_clients(self) -> dict[str, OAuthClient]:
        return self.records["oauth_clients"]

    @property
    def auth_codes(self) -> dict[str, AuthorizationCode]:
        return self.records["auth_codes"]

    @property
    def grants(self) -> dict[str, Grant]:
        return self.records["grants"]

    @property
    def access_tokens(self) -> dict[str, AccessToken]:
        return self.records["access_tokens"]

    @property
    def contacts(self) -> Documents:
        return self.documents["contacts"]

    @property
    def invoices(self) -> Documents:
        return self.documents["invoices"]

    @property
    def financial_accounts(self) -> Documents:
        return self.documents["financial_accounts"]

    @property
    def transactions(self) -> Documents:
        return self.documents["transactions"]

    # --- changes -----------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["SandboxState"]:
        """Hold the lock; on success write every record marked with ``put``/``touch`` before releasing it."""
        with self.lock:
            try:
                yield self
            except BaseException:
                self._dirty.clear()
                raise
            self._flush()

    def put(self, kind: str, key: str, value: Any) -> None:
        if kind in RECORD_KINDS:
            self.records[kind][key] = value
        else:
            self.documents[kind].add(key, value)
        self._dirty[(kind, key)] = None

    def touch(self, kind: str, key: str) -> None:
        """Mark a record changed in place (e.g. a contact after PUT, a used authorisation code)."""
        self._dirty[(kind, key)] = None

    def _flush(self) -> None:
        if not self._dirty:
            return
        changes = []
        for kind, key in self._dirty:
            if kind in RECORD_KINDS:
                value = self.records[kind].get(key)
                changes.append((kind, key, asdict(value) if value is not None else None))
            else:
                changes.append((kind, key, self.documents[kind].by_id.get(key)))
        self._dirty.clear()
        self._persistence.save(changes)

    def _load(self) -> None:
        for kind, key, body in self._persistence.load():
            if kind in RECORD_KINDS:
                self.records[kind][key] = RECORD_KINDS[kind](**body)
            elif kind in DOCUMENT_KINDS:
                self.documents[kind].add(key, body)

    def reset(self) -> None:
        with self.lock:
            for table in self.records.values():
                table.clear()
            for documents in self.documents.values():
                documents.clear()
            self._dirty.clear()
            self.faults.clear()
            self.runtime.clear()
            self.contact_read_lag_seconds = 0.0
            self.contact_visible_at.clear()
            self._persistence.clear()

    # --- authentication ----------------------------------------------------------------------------------
    def principal_for(self, bearer_token: str) -> Principal | None:
        """The organisation a bearer token acts for, or None (unknown, expired or revoked)."""
        token_hash = digest(bearer_token)
        key = self.api_keys.get(token_hash)
        if key is not None and key.organization_id in self.organizations:
            return Principal(key.organization_id, key.connection_id)
        access = self.access_tokens.get(token_hash)
        if access is None or access.expires_at <= time.time():
            return None
        grant = self.grants.get(access.grant_id)
        if grant is None or grant.revoked or grant.organization_id not in self.organizations:
            return None
        return Principal(grant.organization_id, grant.connection_id)

    # --- runtime -----------------------------------------------------------------------------------------
    def org_runtime(self, organization_id: str) -> OrgRuntime:
        runtime = self.runtime.get(organization_id)
        if runtime is None:
            org = self.organizations[organization_id]
            runtime = OrgRuntime(bucket=TokenBucket.per_second(org.rate_limit_per_second, org.rate_limit_burst))
            self.runtime[organization_id] = runtime
        return runtime

    def contact_visible(self, contact_id: str) -> bool:
        """False while a new contact is still inside the configured read-after-write lag."""
        visible_at = self.contact_visible_at.get(contact_id)
        return visible_at is None or time.time() >= visible_at
