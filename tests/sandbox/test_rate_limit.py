"""The per-organisation token bucket over real HTTP: no burst by default (Lexware's safe assumption), refused
requests are not executed, a configured burst and a simulated round trip behave as documented."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from tests.sandbox.support import OrgClient, person_contact
from tests.support.sandbox_server import SandboxServer


def test_burst_of_five_gets_429s_that_were_not_executed(make_org: Callable[..., OrgClient],
                                                        sandbox: SandboxServer) -> None:
    org = make_org(rate_limit_per_second=2.0)
    responses = [org.post("/v1/contacts", json=person_contact()) for _ in range(5)]
    statuses = [r.status_code for r in responses]
    assert statuses == [201, 429, 429, 429, 429]  # no burst: the second request within 0.5 s is refused
    for refused in responses[1:]:
        assert refused.json() == {"message": "Too Many Requests"}
        assert "Retry-After" not in refused.headers
    assert len(org.inspect("contacts")) == 1
    stats = sandbox.admin("GET", "/stats")["organizations"][org.organization_id]
    assert (stats["requests"], stats["rate_limited"], stats["contacts"]) == (5, 4, 1)


def test_a_configured_burst_allows_that_many_at_once(make_org: Callable[..., OrgClient]) -> None:
    org = make_org(rate_limit_per_second=2.0, rate_limit_burst=2)
    assert [org.get("/v1/profile").status_code for _ in range(3)] == [200, 200, 429]


def test_a_round_trip_delays_the_answer_but_not_the_count(make_org: Callable[..., OrgClient],
                                                          sandbox: SandboxServer) -> None:
    """The bucket counts a request when it arrives; the answer comes a round trip later (here 0.3 s)."""
    org = make_org(rate_limit_per_second=2.0, round_trip_seconds=0.3)
    assert org.get("/v1/profile").status_code == 200
    answered = time.time()
    (arrival,) = sandbox.admin("GET", f"/organizations/{org.organization_id}/requests")
    assert arrival["t"] <= answered - 0.3  # counted on arrival, answered a round trip later


def test_pacing_at_two_per_second_with_jitter_sees_no_429_when_a_burst_is_allowed(
        make_org: Callable[..., OrgClient]) -> None:
    org = make_org(rate_limit_per_second=2.0, rate_limit_burst=2)
    rng = random.Random(7)
    start = time.monotonic()
    statuses = []
    for i in range(7):
        send_at = start + i * 0.5 + rng.uniform(0.0, 0.04)
        time.sleep(max(0.0, send_at - time.monotonic()))
        statuses.append(org.get("/v1/profile").status_code)
    assert statuses == [200] * 7


def test_bucket_refills_after_half_a_second(make_org: Callable[..., OrgClient]) -> None:
    org = make_org(rate_limit_per_second=2.0)
    assert [org.get("/v1/profile").status_code for _ in range(2)] == [200, 429]
    time.sleep(0.52)
    assert [org.get("/v1/profile").status_code for _ in range(2)] == [200, 429]


def test_the_limit_is_per_organization(make_org: Callable[..., OrgClient]) -> None:
    busy = make_org(rate_limit_per_second=2.0)
    calm = make_org(company_name="Ruhig GmbH", rate_limit_per_second=2.0)
    for _ in range(2):
        busy.get("/v1/profile")
    assert calm.get("/v1/profile").status_code == 200


def test_the_limit_spans_all_endpoints(make_org: Callable[..., OrgClient]) -> None:
    org = make_org(rate_limit_per_second=2.0)
    assert org.get("/v1/profile").status_code == 200
    assert org.get("/v1/voucherlist", params={"voucherType": "any", "voucherStatus": "any"}).status_code == 429


def test_admin_api_is_never_rate_limited(make_org: Callable[..., OrgClient], sandbox: SandboxServer) -> None:
    org = make_org(rate_limit_per_second=2.0)
    for _ in range(10):
        sandbox.admin("GET", f"/organizations/{org.organization_id}/requests")
    assert org.get("/v1/profile").status_code == 200


def test_rate_can_be_changed_per_organization(make_org: Callable[..., OrgClient], sandbox: SandboxServer) -> None:
    org = make_org(rate_limit_per_second=2.0)
    org.get("/v1/profile")
    sandbox.admin("PATCH", f"/organizations/{org.organization_id}", json={"rate_limit_per_second": None})
    assert [org.get("/v1/profile").status_code for _ in range(5)] == [200] * 5
