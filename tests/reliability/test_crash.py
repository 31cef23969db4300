"""The delivering process dies (SIGKILL) after Lexware committed the POST and before the outbox recorded it.

The row stays ``sending`` and the dead sender's organisation lease stays in the state database. The next run
must wait for the lease to expire, find the orphaned row, reconcile it against Lexware and send nothing twice.
"""

from __future__ import annotations

import pytest

from lexoffice.state.locks import OrganisationLease
from tests.reliability.audit import audit
from tests.reliability.processes import sigkill, start_delivery, wait_until
from tests.reliability.scenarios import DAY, batch_for
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

POST_PATH = {"invoices": "/v1/invoices", "transactions": "/v1/finance/transactions"}
LEXWARE_KIND = {"invoices": "invoices", "transactions": "transactions"}
LEASE_TTL = 2.0  # the killed sender's lease; the next run waits this long at most


@pytest.mark.parametrize("stream", ["invoices", "transactions"])
def test_sigkill_between_post_and_outbox_commit_is_reconciled_not_resent(world: ReliabilityWorld,
                                                                         stream: str) -> None:
    tenant = "crash"
    batch = batch_for(world, tenant, stream)
    source_url = world.fieldservice_url if stream == "invoices" else world.bank_url
    # The answer to the first POST comes long after the sandbox committed: the child is killed while waiting.
    world.inject(mode="slow_after_commit", method="POST", path=POST_PATH[stream], count=1, delay_seconds=30)
    child = start_delivery("--state-url", world.state_url, "--tenant", tenant, "--stream", stream,
                           "--source-url", source_url, "--from", DAY, "--to", DAY, "--lease-ttl", str(LEASE_TTL))
    try:
        wait_until(lambda: bool(world.lexware(tenant, LEXWARE_KIND[stream])) or child.poll() is not None,
                   timeout=90, what="the first POST to be committed by the sandbox")
        assert child.poll() is None, f"the child ended before the kill: {child.communicate()}"
        sigkill(child)
    finally:
        if child.returncode is None:
            sigkill(child)
    assert child.returncode == -9
    orphaned = [r.doc_key for r in world.outbox(tenant, stream) if str(r.state) == "sending"]
    assert orphaned, "no row was left in 'sending': the kill did not land between POST and outbox commit"
    dead_lease = OrganisationLease(world.state, org_key=world.tenants[tenant].org_id, holder="probe").current()
    assert dead_lease is not None and dead_lease.holder.endswith(f":{child.pid}"), dead_lease
    committed = len(world.lexware(tenant, LEXWARE_KIND[stream]))

    runs = world.run_until_settled(batch.dag_id, tenant, stream, **batch.run_kwargs())

    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    totals = world.delivery_totals(tenant, stream)
    assert totals.get("reconciled_sent", 0) == len(orphaned), totals
    outcome = audit(world, tenant, stream, case=f"SIGKILL between POST and outbox commit ({stream})",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.notes += [f"{len(orphaned)} row(s) left 'sending' with {committed} committed in Lexware; "
                      f"reconciled as sent after the dead lease expired", f"runs: {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())
