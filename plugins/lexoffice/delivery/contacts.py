"""Resolve the Lexware contact for a source customer: remembered, adopted, or created once.

Creating a contact is a POST like any other, so it follows the same write-ahead rule (``creating`` before the
POST). Existing Lexware customers are adopted by e-mail or name: the first time a run meets an unmapped
customer it lists the organisation's customers once (a constant number of requests per run, not one lookup
per document).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from lexoffice.client.errors import OutcomeUnknownError
from lexoffice.state import mappings

log = logging.getLogger(__name__)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def contact_emails(contact: dict[str, Any]) -> set[str]:
    emails: set[str] = set()
    for values in (contact.get("emailAddresses") or {}).values():
        emails.update(_norm(v) for v in values or [])
    for person in (contact.get("company") or {}).get("contactPersons") or []:
        if person.get("emailAddress"):
            emails.add(_norm(person["emailAddress"]))
    return emails


def contact_name(contact: dict[str, Any]) -> str:
    if contact.get("company"):
        return _norm(contact["company"].get("name"))
    person = contact.get("person") or {}
    return _norm(f"{person.get('firstName') or ''} {person.get('lastName') or ''}")


class ContactResolver:
    """Maps source customers (``related["customer_key"]``) to Lexware contact ids for one tenant."""

    def __init__(self, engine: Any, client: Any, tenant_id: str, *, sleep: Callable[[float], None] = time.sleep,
                 lag_wait_seconds: float = 3.0) -> None:
        self.engine = engine
        self.client = client
        self.tenant_id = tenant_id
        self.sleep = sleep
        self.lag_wait_seconds = lag_wait_seconds
        self._by_email: dict[str, list[dict[str, Any]]] | None = None
        self._by_name: dict[str, list[dict[str, Any]]] = {}

    @staticmethod
    def known_contact_id(engine: Any, tenant_id: str, related: dict[str, Any] | None) -> str | None:
        key = (related or {}).get("customer_key")
        mapping = mappings.get_contact(engine, tenant_id=tenant_id, customer_key=key) if key else None
        return mapping.lexware_id if mapping and mapping.state == mappings.MappingState.CREATED else None

    def resolve(self, related: dict[str, Any]) -> str:
        key = related["customer_key"]
        mapping = mappings.get_contact(self.engine, tenant_id=self.tenant_id, customer_key=key)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        if mapping and mapping.state in (mappings.MappingState.CREATING, mappings.MappingState.UNKNOWN):
            # An earlier create may have reached Lexware: look before creating again (allowing for read lag).
            found = self._find_existing(related, wait_for_lag=True)
            if found:
                return self._adopt(key, found, note="reconciled an earlier create")
            # Lexware has no such contact: the earlier create never happened. We hold the organisation lease,
            # so nobody else is creating it; forget the stale write-ahead mark (once) and create it now.
            mappings.release_contact(self.engine, tenant_id=self.tenant_id, customer_key=key)
            log.info("customer %s: an earlier create did not reach Lexware; creating it now", key)
        else:
            found = self._find_existing(related, wait_for_lag=False)
            if found:
                return self._adopt(key, found, note="adopted an existing Lexware customer")
        return self._create(key, related)

    # -- lookups ---------------------------------------------------------------------------------------------
    def _load_index(self) -> None:
        self._by_email, self._by_name = {}, {}
        for contact in self.client.find_contacts(customer=True):
            self._index(contact)

    def _index(self, contact: dict[str, Any]) -> None:
        assert self._by_email is not None
        for email in contact_emails(contact):
            self._by_email.setdefault(email, []).append(contact)
        name = contact_name(contact)
        if name:
            self._by_name.setdefault(name, []).append(contact)

    def _find_existing(self, related: dict[str, Any], *, wait_for_lag: bool) -> dict[str, Any] | None:
        if self._by_email is None or wait_for_lag:
            self._load_index()
        found = self._match(related)
        deadline = time.monotonic() + (self.lag_wait_seconds if wait_for_lag else 0)
        while found is None and time.monotonic() < deadline:
            self.sleep(0.5)
            self._load_index()
            found = self._match(related)
        return found

    def _match(self, related: dict[str, Any]) -> dict[str, Any] | None:
        assert self._by_email is not None
        lookup = related.get("lookup") or {}
        email, name = _norm(lookup.get("email")), _norm(lookup.get("name"))
        by_email = self._by_email.get(email, []) if email else []
        by_name = self._by_name.get(name, []) if name else []
        both = [c for c in by_email if contact_name(c) == name]
        for candidates in (both, by_email, by_name):
            if candidates:
                if len(candidates) > 1:
                    log.warning("customer %s matches %d Lexware contacts; using %s", related.get("customer_key"),
                                len(candidates), candidates[0].get("id"))
                return candidates[0]
        return None

    # -- writes ----------------------------------------------------------------------------------------------
    def _adopt(self, key: str, contact: dict[str, Any], *, note: str) -> str:
        mappings.adopt_contact(self.engine, tenant_id=self.tenant_id, customer_key=key, lexware_id=contact["id"])
        log.info("customer %s: %s (%s)", key, note, contact["id"])
        return str(contact["id"])

    def _create(self, key: str, related: dict[str, Any]) -> str:
        if not mappings.claim_contact(self.engine, tenant_id=self.tenant_id, customer_key=key):
            raise OutcomeUnknownError("another sender is creating this customer right now")
        try:
            created = self.client.create_contact(related["contact"])
        except OutcomeUnknownError:
            mappings.mark_contact_unknown(self.engine, tenant_id=self.tenant_id, customer_key=key)
            raise
        except Exception:
            mappings.release_contact(self.engine, tenant_id=self.tenant_id, customer_key=key)
            raise
        mappings.mark_contact_created(self.engine, tenant_id=self.tenant_id, customer_key=key,
                                      lexware_id=created["id"])
        if self._by_email is not None:
            self._index({**related["contact"], "id": created["id"]})
        log.info("customer %s: created Lexware contact %s", key, created["id"])
        return str(created["id"])
