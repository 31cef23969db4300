"""Two tenants on one Lexware organisation with the same source company: every draft would be sent twice.

Refused at connect, naming the other tenant; and a state database that already holds such a pair (bound before
the rule existed) is blocked at delivery. Checked against the sandbox: each draft exists once.
"""

from __future__ import annotations

import pendulum
import pytest
import sqlalchemy as sa

from tests.reliability.audit import audit
from tests.reliability.scenarios import invoice_batch
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_second_tenant_on_the_same_organisation_and_company(world: ReliabilityWorld) -> None:
    from lexoffice.state import tenants
    from lexoffice.state.schema import tenants as tenants_table
    from lexoffice.state.tenants import OrganisationShared

    batch = invoice_batch(world, "one")
    first = world.tenants["one"]
    world.add_tenant("two", company_id=first.company_id, streams=("invoices",), connect=False)
    world.set_lexoffice_conn("two", first.api_key)  # the second tenant's key is for the same organisation
    with pytest.raises(OrganisationShared, match="as tenant 'one' already does"):
        tenants.record_connect(world.state, "two", organization_id=first.org_id, at=pendulum.now("UTC"))

    # A database from before the rule: both tenants bound to the organisation. Delivery refuses the pair.
    with world.state.begin() as conn:
        conn.execute(sa.update(tenants_table).where(tenants_table.c.tenant_id == "two")
                     .values(organization_id=first.org_id, connected=True))
    runs = [str(world.run_dag(batch.dag_id, logical_date=batch.logical_date).state) for _ in range(2)]
    messages = [m for status, m in world.run_messages("one", "invoices") + world.run_messages("two", "invoices")
                if status == "blocked"]
    assert messages and all("same source company" in m for m in messages), messages
    assert any("tenant two" in m for m in messages) and any("tenant one" in m for m in messages), messages
    assert world.lexware("one", "invoices") == [], "a blocked pair must send nothing"
    assert runs == ["failed", "failed"], runs

    # Removing the pair (here: the second tenant leaves the organisation) lets the first deliver, once each.
    with world.state.begin() as conn:
        conn.execute(sa.update(tenants_table).where(tenants_table.c.tenant_id == "two")
                     .values(organization_id=None, connected=False))
    world.run_until_settled(batch.dag_id, "one", "invoices", logical_date=batch.logical_date)
    audit(world, "one", "invoices", case="two tenants on one organisation and company", valid=batch.valid,
          invalid=batch.invalid).check(expected_reasons=batch.invalid.values())
