"""A person's choice to send again a draft the accountant deleted in Lexware Office.

The status sync records a deleted draft and never re-sends it on its own: maybe it was deleted on purpose.
``lexoffice resend-deleted`` releases the chosen ones to ``pending`` (outbox.resend_deleted) only if the
status sync found exactly the Lexware id the outbox holds deleted; the next run then sends them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from lexoffice.payloads import invoice_doc_key
from lexoffice.state import lexware_status, outbox

STREAM = "invoices"


class NotDeleted(ValueError):
    """The document is not a draft that Lexware Office reported deleted."""


def resend_deleted(engine: sa.Engine, *, tenant_id: str, source_ids: Sequence[str]) -> list[str]:
    """Release each deleted draft to ``pending``; every id is checked before any is released."""
    keys = [invoice_doc_key(str(i)) for i in source_ids]
    rows = {r.doc_key: r for r in outbox.rows(engine, tenant_id=tenant_id, stream=STREAM, doc_keys=keys)}
    seen = lexware_status.statuses(engine, tenant_id=tenant_id, stream=STREAM, doc_keys=keys)
    refused = []
    for source_id, key in zip(source_ids, keys, strict=True):
        row, status = rows.get(key), seen.get(key)
        if row is None:
            refused.append(f"{source_id}: kein Beleg dieses Mandanten (no such document)")
        elif status is None or status.status != "deleted" or status.lexware_id != row.lexware_id:
            refused.append(f"{source_id}: nicht als in Lexware gelöscht bekannt (Status: "
                           f"{status.status if status else 'unbekannt'}); nur gelöschte Entwürfe werden erneut "
                           "gesendet (only drafts deleted in Lexware can be sent again)")
    if refused:
        raise NotDeleted("; ".join(refused))
    for key in keys:
        row = rows[key]
        outbox.resend_deleted(engine, row.id, lexware_id=row.lexware_id,
                              note=f"in Lexware gelöscht ({row.lexware_id}); von Hand erneut zum Senden freigegeben")
    return keys
