"""Resolve the Lexware financial account for a bank account (by IBAN): remembered, adopted, or created once."""

from __future__ import annotations

import logging
from typing import Any

from lexoffice.client.errors import OutcomeUnknownError
from lexoffice.state import mappings

log = logging.getLogger(__name__)


class AccountResolver:
    """Maps IBANs (``related["iban"]``) to Lexware ``financialAccountId``s for one tenant."""

    def __init__(self, engine: Any, client: Any, tenant_id: str) -> None:
        self.engine = engine
        self.client = client
        self.tenant_id = tenant_id

    def known_account_id(self, iban: str) -> str | None:
        mapping = mappings.get_account(self.engine, tenant_id=self.tenant_id, iban=iban)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        found = self.client.find_financial_accounts(iban=iban)
        return str(found[0]["financialAccountId"]) if found else None

    def resolve(self, related: dict[str, Any]) -> str:
        iban = related["iban"]
        mapping = mappings.get_account(self.engine, tenant_id=self.tenant_id, iban=iban)
        if mapping and mapping.state == mappings.MappingState.CREATED:
            return mapping.lexware_id
        # Adopt an account Lexware already has for this IBAN (also settles an earlier create of unknown outcome).
        found = self.client.find_financial_accounts(iban=iban)
        if found:
            account_id = str(found[0]["financialAccountId"])
            mappings.adopt_account(self.engine, tenant_id=self.tenant_id, iban=iban, lexware_id=account_id)
            log.info("account %s: using existing Lexware financial account %s", iban, account_id)
            return account_id
        if mapping is not None:
            # An earlier create whose outcome was unknown did not happen (no account for the IBAN); we hold the
            # organisation lease, so the stale write-ahead mark can go (once).
            mappings.release_account(self.engine, tenant_id=self.tenant_id, iban=iban)
            log.info("account %s: an earlier create did not reach Lexware; creating it now", iban)
        if not mappings.claim_account(self.engine, tenant_id=self.tenant_id, iban=iban):
            raise OutcomeUnknownError("another sender is creating this financial account right now")
        try:
            created = self.client.create_financial_account(related["account"])
        except OutcomeUnknownError:
            mappings.mark_account_unknown(self.engine, tenant_id=self.tenant_id, iban=iban)
            raise
        except Exception:
            mappings.release_account(self.engine, tenant_id=self.tenant_id, iban=iban)
            raise
        account_id = str(created["financialAccountId"])
        mappings.mark_account_created(self.engine, tenant_id=self.tenant_id, iban=iban, lexware_id=account_id)
        log.info("account %s: created Lexware financial account %s", iban, account_id)
        return account_id
