"""A document whose retries take longer than the organisation lease's ttl keeps the lease throughout.

If the lease lapsed mid-document, a second sender could take it, mark the row ``unknown``, find nothing in
Lexware while the first request is still on its way, and send the document again. The delivery renews the
lease before every HTTP attempt once a third of the ttl has passed, so a contender trying all the time never
gets it while the first sender works.
"""

from __future__ import annotations

import time

import pytest

from lexoffice.state import tenants
from lexoffice.state.locks import OrganisationLease
from tests.reliability.audit import audit
from tests.reliability.processes import finish, start_delivery, wait_until
from tests.reliability.scenarios import DAY, invoice_batch
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TTL = 2.0


def test_a_document_retried_for_longer_than_the_lease_ttl_keeps_the_lease(world: ReliabilityWorld) -> None:
    tenant = "slowdoc"
    batch = invoice_batch(world, tenant)
    # The first invoice POST is refused three times with 429 and Retry-After 1 s: one document takes over 3 s.
    world.inject(mode="before", status=429, retry_after=1, count=3)
    state = world.engine(world.state_url)
    info = tenants.get_tenant(state, tenant)
    contender = OrganisationLease(state, org_key=info.organization_id or info.tenant_id, holder="contender",
                                  ttl_seconds=30)

    def all_sent() -> bool:
        sent = {r.doc_key for r in world.outbox(tenant, batch.stream) if r.state == "sent"}
        return {f"draft:{v}" for v in batch.valid} <= sent

    child = start_delivery("--state-url", world.state_url, "--tenant", tenant, "--stream", "invoices",
                           "--source-url", world.fieldservice_url, "--from", DAY, "--to", DAY,
                           "--lease-ttl", str(TTL))
    wait_until(lambda: contender.current() is not None or child.poll() is not None, timeout=90,
               what="the delivery to take the organisation lease")
    taken_over = 0
    while child.poll() is None:
        if contender.acquire(wait_seconds=0):
            if not all_sent():  # the lease is free once the delivery is done; before that it must never be
                taken_over += 1
            contender.release()
        time.sleep(0.05)
    finish([child], timeout=60)  # fails with the child's stderr if it did (a lost lease raises LeaseLost)

    assert taken_over == 0, "another sender got the lease while a document was still being retried"
    assert len(world.fault_hits(tenant)) == 3  # the 429s were really served: the document outlasted the ttl
    outcome = audit(world, tenant, batch.stream, case="one document retried for longer than the lease ttl",
                    valid=batch.valid, invalid=batch.invalid)
    outcome.check(expected_reasons=batch.invalid.values())
