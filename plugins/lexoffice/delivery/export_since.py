"""The export-since rule, checked again for every document about to be sent, for both streams.

Staging already clamps windows by ``export_since``, but a document can be staged earlier (before the date was
moved forward) or selected by id. So delivery asks once more, here: an invoice draft is dated by its voucher
date, a transaction by its completion time (the cursor its windows use). A document it stops becomes
``invalid`` with reason ``BEFORE_EXPORT_SINCE``, never silently skipped; ``export_since`` only moves forward,
so it is not sent later either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from lexoffice.staging.windows import before_export_since
from lexoffice.state import outbox
from lexoffice.state.tenants import Tenant
from lexoffice.streams import spec_of
from lexoffice.validation.reasons import BEFORE_EXPORT_SINCE

log = logging.getLogger(__name__)


def document_date(row: Any, stream: str) -> date | datetime | None:
    """What the rule compares: the voucher date of a draft, the completion time of a transaction."""
    return spec_of(stream).document_date(row.payload, row.event_time)


def iter_sendable(engine: Any, tenant: Tenant, stream: str, rows: Iterable[Any], *,
                  dry_run: bool = False) -> Iterator[Any]:
    """The rows dated on or after the tenant's export_since, one at a time (delivery streams a backlog of any
    size); the others are marked invalid with the reason (only logged in a dry run)."""
    for row in rows:
        dated = document_date(row, stream)
        if dated is None or not before_export_since(dated, tenant.export_since):
            yield row
            continue
        spec = spec_of(stream)
        reason = BEFORE_EXPORT_SINCE(field=spec.export_since_field, date=dated, what=spec.export_since_label,
                                     export_since=tenant.export_since)
        if not dry_run:
            outbox.stop_before_sending(engine, row.id, reasons=[reason.as_dict()])
        log.warning("%s is dated %s, before export_since %s: not sent (BEFORE_EXPORT_SINCE)", row.source_ref,
                    dated, tenant.export_since)
