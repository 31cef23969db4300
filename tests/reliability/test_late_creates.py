"""A contact or financial account created by Lexware well after the failed POST was answered is not created a
second time by the next run: the create waits for the grace period, then the late one is adopted.

The next run starts right away (before the late commit), which is the case a short fixed reconcile wait missed:
it found nothing and created the contact or account again, and the late one appeared beside it.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.audit import audit
from tests.reliability.scenarios import batch_for
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CASES = {"invoices": ("/v1/contacts", "contacts"), "transactions": ("/v1/finance/financial-accounts",
                                                                    "financial-accounts")}
LATE_SECONDS, GRACE_SECONDS = 25.0, 35.0


def deliver_now(world: ReliabilityWorld, tenant_id: str, stream: str) -> None:
    """The next delivery at once (a DAG run takes longer than the late commit waits), through the same pipeline
    and connection as the DAG's deliver task."""
    from lexoffice.delivery import run as delivery_run
    from lexoffice.provider import connections
    from lexoffice.documents import Stream
    from lexoffice.provider.hooks import LexofficeHook
    from lexoffice.state import tenants

    tenant = tenants.get_tenant(world.state, tenant_id)
    delivery_run.deliver_tenant(state_engine=world.state, tenant=tenant, stream=Stream(stream),
                            client_factory=connections.client_factory(world.state),
                            source_engine=world.engine(world.fieldservice_url) if stream == "invoices" else None,
                            confirm_grace_seconds=LexofficeHook(tenant.lexoffice_conn_id).confirm_grace_seconds())


@pytest.mark.parametrize("stream", list(CASES))
def test_late_create_is_adopted_not_repeated(world: ReliabilityWorld, stream: str) -> None:
    path, kind = CASES[stream]
    tenant = "lc"
    world.confirm_grace_seconds = GRACE_SECONDS
    batch = batch_for(world, tenant, stream)
    world.inject(mode="late_after_error", status=504, method="POST", path=path, count=1,
                 delay_seconds=LATE_SECONDS)

    world.run_dag(batch.dag_id, logical_date=batch.logical_date)  # the create fails; Lexware commits later
    deliver_now(world, tenant, stream)  # at once, most likely before the late commit: must not create it again
    runs = world.run_until_settled(batch.dag_id, tenant, stream, logical_date=batch.logical_date)

    # Count only once the late commit is certainly done (the sandbox runs it LATE_SECONDS after the failure).
    hits = world.fault_hits(tenant)
    assert hits, "the fault never hit: the case proves nothing"
    while time.time() < hits[0]["t"] + LATE_SECONDS + 2:
        time.sleep(0.2)
    assert len(world.lexware(tenant, kind)) == 1, world.lexware(tenant, kind)
    outcome = audit(world, tenant, stream, case=f"{kind[:-1]} created {LATE_SECONDS:.0f} s after a 504, next run "
                    "at once", valid=batch.valid, invalid=batch.invalid)
    outcome.notes.append(f"runs after the first two: {', '.join(runs)}")
    outcome.check(expected_reasons=batch.invalid.values())
