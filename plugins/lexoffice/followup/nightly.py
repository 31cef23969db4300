"""The whole nightly status step for one tenant, free of Airflow: read back the Lexware status, then (if the
tenant turned it on) write it back to the field-service database.

Neither half can fail the run: Lexware being unreachable or the source being read-only is a line in the
report, and the write-back still runs when Lexware could not be read (Datum senden and reasons come from the
state database).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from lexoffice.client.errors import LexofficeError
from lexoffice.delivery.result import TenantBlocked
from lexoffice.followup import columns, status_sync, writeback

log = logging.getLogger(__name__)


def run(*, state_engine: sa.Engine, tenant: Any, client_factory: Callable[[Any], Any],
        source_engine: Callable[[], sa.Engine], run_id: str | None = None, lease_ttl: float = 120.0,
        **sync_options: Any) -> dict[str, Any]:
    """The summary for XCom and the report (``status_sync.SyncResult.as_dict`` plus the write-back's outcome)."""
    try:
        result = status_sync.run_for_tenant(state_engine=state_engine, tenant=tenant, client_factory=client_factory,
                                            run_id=run_id, lease_ttl=lease_ttl, **sync_options)
        summary = result.as_dict()
        for line in columns.change_lines(result):
            log.info("%s", line)
    except (LexofficeError, TenantBlocked) as err:
        log.warning("Mandant %s: Lexware-Status nicht gelesen: %s", tenant.tenant_id, err)
        summary = {"tenant_id": tenant.tenant_id, "error": str(err)}
    if writeback.enabled(state_engine, tenant.tenant_id):
        try:
            summary["written_back"] = writeback.write_back(state_engine=state_engine, tenant=tenant,
                                                           source_engine=source_engine())
            log.info("Mandant %s: %d Zeile(n) in %s geschrieben", tenant.tenant_id, summary["written_back"],
                     writeback.TABLE)
        except writeback.SourceReadOnly as err:
            log.error("%s", err)
            summary["writeback_error"] = str(err)
    return summary
