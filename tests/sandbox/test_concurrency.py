"""Eight organisations at once, as in the parallel benchmark: nothing lost, nothing mixed up."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.sandbox.support import OrgClient, invoice_body


def test_eight_tenants_in_parallel_each_get_exactly_their_invoices(make_org: Callable[..., OrgClient]) -> None:
    orgs = [make_org(company_name=f"Mandant {i}") for i in range(8)]

    def deliver(org: OrgClient) -> list[int]:
        session = requests.Session()
        statuses = []
        for n in range(10):
            body = invoice_body(remark=f"{org.organization_id}/{n}")
            response = session.post(f"{org.base_url}/v1/invoices", json=body,
                                    headers={"Authorization": f"Bearer {org.api_key}"}, timeout=10)
            statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(deliver, orgs))
    assert results == [[201] * 10] * 8
    for org in orgs:
        remarks = sorted(i["remark"] for i in org.inspect("invoices"))
        assert remarks == sorted(f"{org.organization_id}/{n}" for n in range(10))
