"""Authentication, the profile, and the gateway's answers for unknown routes, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.sandbox.support import OrgClient
from tests.support.sandbox_server import SandboxServer


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
def test_missing_or_bad_token_is_401_unauthorized(sandbox: SandboxServer, api: OrgClient,
                                                  headers: dict[str, str]) -> None:
    response = requests.get(f"{sandbox.base_url}/v1/profile", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_profile_describes_the_organization_and_connection(make_org: Callable[..., OrgClient]) -> None:
    org = make_org(company_name="Kammerjäger Nord GmbH", tax_type="gross", small_business=False,
                   business_features=["INVOICING"], distance_sales_principle="ORIGIN")
    body = org.get("/v1/profile").json()
    assert body["organizationId"] == org.organization_id
    assert body["companyName"] == "Kammerjäger Nord GmbH"
    assert body["connectionId"] == org.connection_id
    assert (body["taxType"], body["smallBusiness"], body["businessFeatures"]) == ("gross", False, ["INVOICING"])
    assert body["distanceSalesPrinciple"] == "ORIGIN"
    assert body["subscriptionStatus"] == "active"
    assert set(body["created"]) == {"userId", "userName", "userEmail", "date"}


def test_unknown_api_route_is_404_in_the_regular_format(api: OrgClient) -> None:
    response = api.get("/v1/articles")
    assert response.status_code == 404
    assert set(response.json()) >= {"timestamp", "status", "error", "path", "traceId", "message"}


def test_api_key_of_a_removed_organization_stops_working(sandbox: SandboxServer, api: OrgClient) -> None:
    sandbox.reset()
    assert api.get("/v1/profile").status_code == 401
