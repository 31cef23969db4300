"""Resolve the Lexware financial account of a source bank or card account: remembered, adopted, or created once.

Accounts are keyed by the source account's identity (``payloads.account_key``), never by IBAN alone: a card
account may report the giro account's IBAN, or none, and its transactions must not land in the giro account.
Every account we create carries the source account id as ``externalReference``, so a lookup by it finds our
own earlier create (also one whose outcome was unknown). An account that already exists in Lexware under the
IBAN (set up by hand or by a CSV import) is adopted only when nothing says it belongs to another account:
same type, and no other ``externalReference``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lexoffice import payloads
from lexoffice.client.api import LexofficeClient
from lexoffice.client.errors import OutcomeUnknownError
from lexoffice.delivery.rejections import reasons_from_error
from lexoffice.state import mappings, outbox

log = logging.getLogger(__name__)

_ACCOUNT_KEY_PREFIX = "account:"


def source_account_id(related: dict[str, Any]) -> str:
    """The source account id of a staged transaction (rows staged by older versions carry it only as the
    account body's ``externalReference``)."""
    return str(related.get("account_id") or related["account"]["externalReference"])


class AccountResolver:
    """Maps source accounts (``related`` of a staged transaction) to Lexware ``financialAccountId``s for one tenant."""

    def __init__(self, engine: sa.Engine, client: LexofficeClient, tenant_id: str) -> None:
        self.engine = engine
        self.client = client
        self.tenant_id = tenant_id
        self.map = mappings.source_accounts

    def mapping(self, group_key: str) -> mappings.Mapping | None:
        """The write-ahead record of a delivery group's account (``payloads.account_key``, or for rows staged by
        older versions the IBAN), from the table that holds it."""
        if group_key.startswith(_ACCOUNT_KEY_PREFIX):
            return self.map.get(self.engine, tenant_id=self.tenant_id, key=group_key)
        return mappings.get_account(self.engine, tenant_id=self.tenant_id, iban=group_key)

    def known_account_id(self, group_key: str) -> str | None:
        """The financial account of a delivery group, if it exists; None when it was never created.

        ``group_key`` is ``payloads.account_key`` (or, for rows staged by older versions, the IBAN).
        """
        if not group_key.startswith(_ACCOUNT_KEY_PREFIX):
            return self._known_by_iban(group_key)
        mapping = self.map.get(self.engine, tenant_id=self.tenant_id, key=group_key)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        found = self._ours(group_key[len(_ACCOUNT_KEY_PREFIX):])
        return str(found["financialAccountId"]) if found else None

    def _known_by_iban(self, iban: str) -> str | None:
        mapping = mappings.get_account(self.engine, tenant_id=self.tenant_id, iban=iban)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        found = self.client.find_financial_accounts(iban=iban)
        return str(found[0]["financialAccountId"]) if found else None

    def _ours(self, account_id: str) -> dict[str, Any] | None:
        found = self.client.find_financial_accounts(external_reference=account_id)
        return found[0] if found else None

    def _adoptable_by_iban(self, related: dict[str, Any]) -> dict[str, Any] | None:
        """An account Lexware has for the IBAN that is plausibly this one (see the module docstring)."""
        iban = related.get("iban")
        if not iban:
            return None
        wanted_type = related["account"].get("type")
        for found in self.client.find_financial_accounts(iban=iban):
            if found.get("externalReference") in (None, "") and found.get("type") in (None, wanted_type):
                return found
        return None

    def resolve(self, related: dict[str, Any]) -> str:
        account_id = source_account_id(related)
        key = payloads.account_key(account_id)
        mapping = self.map.get(self.engine, tenant_id=self.tenant_id, key=key)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        # Our own earlier create (also one of unknown outcome, or one made before accounts were keyed like
        # this), else an account set up by hand for the IBAN.
        found = self._ours(account_id) or self._adoptable_by_iban(related)
        if found:
            lexware_id = str(found["financialAccountId"])
            self.map.adopt(self.engine, tenant_id=self.tenant_id, key=key, lexware_id=lexware_id)
            log.info("account %s: using existing Lexware financial account %s", key, lexware_id)
            return lexware_id
        if mapping is not None:
            # An earlier create whose outcome was unknown did not happen (no account carries our reference); we
            # hold the organisation lease, so the stale write-ahead mark can go (once).
            self.map.release(self.engine, tenant_id=self.tenant_id, key=key)
            log.info("account %s: an earlier create did not reach Lexware; creating it now", key)
        if not self.map.claim(self.engine, tenant_id=self.tenant_id, key=key):
            raise OutcomeUnknownError("another sender is creating this financial account right now")
        try:
            created = self.client.create_financial_account(related["account"])
        except OutcomeUnknownError:
            self.map.mark_unknown(self.engine, tenant_id=self.tenant_id, key=key)
            raise
        except Exception:
            self.map.release(self.engine, tenant_id=self.tenant_id, key=key)
            raise
        lexware_id = str(created["financialAccountId"])
        self.map.mark_created(self.engine, tenant_id=self.tenant_id, key=key, lexware_id=lexware_id)
        log.info("account %s: created Lexware financial account %s", key, lexware_id)
        return lexware_id

    def reject(self, rows: Sequence[Any], err: Exception, *, run_id: str | None = None) -> int:
        """Lexware refused to create the account (400/406/409): each of its pending transactions becomes
        ``rejected`` with Lexware's reasons, so the report says what to fix and the other accounts go on.
        Nothing was sent (the write-ahead mark is taken and settled at once). Returns how many rows."""
        reasons = reasons_from_error(err, what="financial account")
        for reason in reasons:
            field = reason.get("field")
            reason["field"] = "account" if field in (None, "", "-") else f"account.{field}"
        rejected = 0
        for row in rows:
            if outbox.claim(self.engine, row.id, run_id=run_id):
                outbox.mark_rejected(self.engine, row.id, reasons=reasons, error=str(err))
                rejected += 1
        log.warning("account %s: Lexware refused the financial account (%s); %d transaction(s) rejected",
                    payloads.account_key(source_account_id(rows[0].related)) if rows else "?", err, rejected)
        return rejected
