"""What one delivery did, as small JSON-able counts (XCom carries this, never payloads)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from lexoffice.client.errors import AuthenticationError, ForbiddenError, LexofficeError, PaymentRequiredError
from lexoffice.state.tenants import Tenant


# Rows a delivery reads per keyset page: memory stays flat however large the backlog is.
PAGE_SIZE = 500
# Documents a dry run lists by name (XCom, report); it counts all of them in ``would_send_count``.
PREVIEW_LIMIT = 50


class TenantBlocked(Exception):
    """Delivery for a tenant must stop before (or without) sending; the message says what a person should do.

    Documents stay pending; nothing is lost. The run ends failed so that alerting fires.
    """


def blocked_message(tenant: Tenant, err: LexofficeError) -> str:
    """Why delivery for ``tenant`` stopped on ``err`` (credentials, contract, permission, rate budget), and what a
    person does about it. Nothing was executed by Lexware; pending documents are kept."""
    if isinstance(err, AuthenticationError):
        return (f"tenant {tenant.tenant_id}: Lexware Office refused the credentials ({err}). Reconnect this tenant "
                f"(`lexoffice tenant reconnect {tenant.tenant_id}`); pending documents are kept and sent afterwards.")
    if isinstance(err, PaymentRequiredError):
        return (f"tenant {tenant.tenant_id}: the Lexware Office contract does not include this feature ({err}). "
                "Upgrade the plan; pending documents are kept.")
    if isinstance(err, ForbiddenError):
        return (f"tenant {tenant.tenant_id}: the connection lacks a permission ({err}). Reconnect with the "
                "invoices and contacts scopes; pending documents are kept.")
    return (f"tenant {tenant.tenant_id}: Lexware Office kept answering 'too many requests' ({err}); another "
            "integration may share the organisation's budget. Pending documents are sent by the next run.")


@dataclass
class DeliveryResult:
    tenant_id: str
    stream: str
    dry_run: bool = False
    sent: int = 0
    rejected: int = 0
    unknown: int = 0
    reconciled_sent: int = 0
    reconciled_pending: int = 0
    awaiting_confirmation: int = 0  # unknown, not found yet, attempt younger than the grace period
    pending_left: int = 0
    requests: int = 0
    blocked: str | None = None
    budget_spent: bool = False  # stopped early so the next run is not held back; the rest stays pending
    would_send: list[dict[str, Any]] = field(default_factory=list)  # the first PREVIEW_LIMIT only
    would_send_count: int = 0
    # doc keys sent or reconciled after an uncertain outcome: the report task's cheap duplicate check looks at
    # these only (empty in the common case, so it costs no requests)
    uncertain: list[str] = field(default_factory=list)

    def preview(self, rows: Iterable[Any], describe: Callable[[Any], dict[str, Any]]) -> None:
        """A dry run: count every row that would be sent, describe the first PREVIEW_LIMIT (bounded memory)."""
        for row in rows:
            if len(self.would_send) < PREVIEW_LIMIT:
                self.would_send.append(describe(row))
            self.would_send_count += 1
        self.pending_left = self.would_send_count

    def stop_for_budget(self, log: logging.Logger, what: str) -> None:
        self.budget_spent = True
        log.warning("delivery time budget spent (LEXOFFICE_DELIVERY_BUDGET_SECONDS): the remaining %s stay pending "
                    "and are sent by the next run, in the same order, so this run does not hold back the next one",
                    what)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
