"""The unit that flows from the source through validation into the outbox.

Extraction and validation produce ``StagedDocument`` objects; ``lexoffice.state.outbox.stage`` stores them.
Keeping the shape in one neutral module lets both sides change independently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Stream(StrEnum):
    INVOICES = "invoices"
    TRANSACTIONS = "transactions"


@dataclass(frozen=True)
class Reason:
    """Why a document cannot be sent: a stable code, the offending field, and what a person should do."""

    code: str
    field: str
    message_en: str
    message_de: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message_en": self.message_en, "message_de": self.message_de}


@dataclass(frozen=True)
class StagedDocument:
    """One source document after validation.

    doc_key       stable source id, unique per tenant and stream (e.g. "draft:1234", "txn:8f2c…")
    content_hash  sha256 over everything that influences the payload (see ``content_hash``)
    payload       the Lexware request body when valid; for invoices without ``address.contactId``,
                  which delivery fills in after resolving ``related`` (the customer)
    reasons       empty when valid; otherwise every reason, not only the first
    source_ref    what a person recognises, e.g. "RE-2025-0042 (work_order WO-881)"
    event_time    the cursor time: draft created/updated, transaction completed (timezone-aware)
    group_key     invoices: the source customer key; transactions: the account IBAN
    sort_key      delivery order within a group (transactions: completion time + id)
    related       invoices: {"customer_key", "lookup": {"email", "name"}, "contact": <contact POST body>}
                  transactions: {"iban", "account": <financial account POST body>}
    """

    doc_key: str
    content_hash: str
    payload: dict[str, Any] | None
    reasons: tuple[Reason, ...]
    source_ref: str
    event_time: datetime
    group_key: str | None = None
    sort_key: str = ""
    related: dict[str, Any] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.reasons


def content_hash(*parts: Any) -> str:
    """A stable hash of JSON-able parts (keys sorted, no whitespace differences)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
