"""Resolve the Lexware contact for a source customer: remembered, adopted, or created once.

Creating a contact is a POST like any other, so it follows the same write-ahead rule (``creating`` before the
POST). An existing Lexware customer is adopted only on a strong identity: the customer marker this project
writes into the contact's ``note`` (``lxa:customer:<id>``), or the same name AND the same billing address. A
name alone or an e-mail alone is not an identity (two "Anna Schmidt"s, two firms sharing a bookkeeper's e-mail):
such a customer gets a new contact. An unmapped customer is looked up with the API's filters (its name, else
its e-mail; customers only), so a run costs one lookup per new customer, however many contacts the organisation
has; only a customer with neither a name nor an e-mail of 3+ characters makes the run list all customers (once).
The name search cannot see our note marker, so a contact renamed in Lexware after we created it is found only
while its mapping exists (always, unless the state database was lost).

A create of unknown outcome is settled like an invoice: found -> adopted; not found -> created again only once
the attempt (``claimed_at``) is older than the grace period (``lexoffice.delivery.grace``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from lexoffice.client.api import SEARCH_MIN_LENGTH, LexofficeClient
from lexoffice.client.errors import OutcomeUnknownError
from lexoffice.delivery.grace import DEFAULT_CONFIRM_GRACE_SECONDS, create_unconfirmed
from lexoffice.payloads import REFERENCE_MARKER as CUSTOMER_MARKER  # the same marker as a draft's reference
from lexoffice.state import mappings

log = logging.getLogger(__name__)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def contact_name(contact: dict[str, Any]) -> str:
    if contact.get("company"):
        return _norm(contact["company"].get("name"))
    person = contact.get("person") or {}
    return _norm(f"{person.get('firstName') or ''} {person.get('lastName') or ''}")


def billing_address(contact: dict[str, Any]) -> tuple[str, ...] | None:
    """The first billing address as normalised (street, zip, city, country), or None when it has none."""
    billing = ((contact.get("addresses") or {}).get("billing") or [None])[0]
    if not billing:
        return None
    parts = tuple(_norm(billing.get(k)) for k in ("street", "zip", "city"))
    if not any(parts):
        return None
    return (*parts, _norm(billing.get("countryCode") or "DE"))


def literal_search(text: str) -> str:
    """A search filter value that matches ``text`` itself: Lexware's ``%``, ``_`` and ``\\`` escaped."""
    return re.sub(r"([\\%_])", r"\\\1", text)


def customer_marker(customer_key: str) -> str:
    """The line written into a created contact's ``note``: the project's own customer number."""
    return f"{CUSTOMER_MARKER}{customer_key}"


def markers_in(contact: dict[str, Any]) -> set[str]:
    """The customer markers in a contact's note (whole lines only)."""
    return {line.strip() for line in str(contact.get("note") or "").splitlines()
            if line.strip().startswith(CUSTOMER_MARKER)}


class ContactResolver:
    """Maps source customers (``related["customer_key"]``) to Lexware contact ids for one tenant."""

    def __init__(self, engine: sa.Engine, client: LexofficeClient, tenant_id: str, *,
                 sleep: Callable[[float], None] = time.sleep,
                 lag_wait_seconds: float = 3.0,
                 confirm_grace_seconds: float = DEFAULT_CONFIRM_GRACE_SECONDS) -> None:
        self.engine = engine
        self.client = client
        self.tenant_id = tenant_id
        self.sleep = sleep
        self.lag_wait_seconds = lag_wait_seconds
        self.confirm_grace_seconds = confirm_grace_seconds
        self._by_marker: dict[str, list[dict[str, Any]]] | None = None
        self._by_identity: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._all_customers: list[dict[str, Any]] | None = None  # only for customers too short to search

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
            if create_unconfirmed(mapping, self.confirm_grace_seconds):
                raise OutcomeUnknownError(
                    f"customer {key}: an earlier create had an unknown outcome and the contact is not in Lexware "
                    "yet; waiting to confirm with Lexware (wartet auf Bestätigung durch Lexware) for "
                    f"{self.confirm_grace_seconds:.0f} s after the attempt before creating it again")
            # Lexware has no such contact, long after the attempt: the earlier create never happened. We hold the
            # organisation lease, so nobody else is creating it; forget the stale write-ahead mark and create it.
            mappings.release_contact(self.engine, tenant_id=self.tenant_id, customer_key=key)
            log.info("customer %s: an earlier create did not reach Lexware; creating it now", key)
        else:
            found = self._find_existing(related, wait_for_lag=False)
            if found:
                return self._adopt(key, found, note="adopted an existing Lexware customer")
        return self._create(key, related)

    # -- lookups ---------------------------------------------------------------------------------------------
    def _candidates(self, related: dict[str, Any]) -> list[dict[str, Any]]:
        """The organisation's customers that may be this one: found by name, else by e-mail (one request per
        250 matches); the full customer list (read once per run) only when neither is long enough to search."""
        lookup = related.get("lookup") or {}
        for label in ("name", "email"):
            value = " ".join(str(lookup.get(label) or "").split())
            if len(value) >= SEARCH_MIN_LENGTH:
                return self.client.find_contacts(**{label: literal_search(value)}, customer=True)
        if self._all_customers is None:
            self._all_customers = self.client.find_contacts(customer=True)
        return self._all_customers

    def _load_index(self, related: dict[str, Any]) -> None:
        self._by_marker, self._by_identity = {}, {}
        for contact in self._candidates(related):
            self._index(contact)

    def _index(self, contact: dict[str, Any]) -> None:
        assert self._by_marker is not None
        for marker in markers_in(contact):
            self._by_marker.setdefault(marker, []).append(contact)
        name, address = contact_name(contact), billing_address(contact)
        if name and address:
            self._by_identity.setdefault((name, address), []).append(contact)

    def _find_existing(self, related: dict[str, Any], *, wait_for_lag: bool) -> dict[str, Any] | None:
        if wait_for_lag:
            self._all_customers = None  # an earlier create may have appeared since the list was read
        self._load_index(related)
        found = self._match(related)
        deadline = time.monotonic() + (self.lag_wait_seconds if wait_for_lag else 0)
        while found is None and time.monotonic() < deadline:
            self.sleep(0.5)
            self._all_customers = None
            self._load_index(related)
            found = self._match(related)
        return found

    def _match(self, related: dict[str, Any]) -> dict[str, Any] | None:
        """The contact with our customer marker; else the one with the same name and billing address that
        carries no other customer's marker; else None (a new contact is created)."""
        assert self._by_marker is not None
        key = related.get("customer_key") or ""
        marked = self._by_marker.get(customer_marker(key), [])
        if marked:
            if len(marked) > 1:
                log.warning("customer %s: %d Lexware contacts carry its marker; using %s (see `lexoffice audit`)",
                            key, len(marked), marked[0].get("id"))
            return marked[0]
        name = _norm((related.get("lookup") or {}).get("name"))
        address = billing_address(related.get("contact") or {})
        if not name or address is None:
            return None
        same = [c for c in self._by_identity.get((name, address), []) if not markers_in(c)]
        if len(same) > 1:
            log.warning("customer %s matches %d Lexware contacts by name and address; using %s", key, len(same),
                        same[0].get("id"))
        return same[0] if same else None

    # -- writes ----------------------------------------------------------------------------------------------
    def _adopt(self, key: str, contact: dict[str, Any], *, note: str) -> str:
        mappings.adopt_contact(self.engine, tenant_id=self.tenant_id, customer_key=key, lexware_id=contact["id"])
        log.info("customer %s: %s (%s)", key, note, contact["id"])
        return str(contact["id"])

    def _create(self, key: str, related: dict[str, Any]) -> str:
        if not mappings.claim_contact(self.engine, tenant_id=self.tenant_id, customer_key=key):
            raise OutcomeUnknownError("another sender is creating this customer right now")
        body = dict(related["contact"])
        marker = customer_marker(key)
        body["note"] = f"{body['note']}\n{marker}" if body.get("note") else marker
        try:
            created = self.client.create_contact(body)
        except OutcomeUnknownError:
            mappings.mark_contact_unknown(self.engine, tenant_id=self.tenant_id, customer_key=key)
            raise
        except Exception:
            mappings.release_contact(self.engine, tenant_id=self.tenant_id, customer_key=key)
            raise
        mappings.mark_contact_created(self.engine, tenant_id=self.tenant_id, customer_key=key,
                                      lexware_id=created["id"])
        if self._all_customers is not None:
            self._all_customers.append({**body, "id": created["id"]})
        log.info("customer %s: created Lexware contact %s", key, created["id"])
        return str(created["id"])
