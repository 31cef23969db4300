"""OAuth tenants mid-run: an access token that expires (refresh and go on) and an authorisation that is revoked
(stop with "reconnect", lose nothing, deliver the rest after the reconnect).

The tenant is connected through the CLI's real flow (consent page, "Zugriff erlauben", callback with state,
code exchange); its tokens live encrypted in the state database. The fault lands mid-run: the first invoice's
answer is held back by the sandbox, and while the client waits the tokens are expired or revoked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.reliability.audit import audit
from tests.reliability.processes import wait_until
from tests.reliability.scenarios import invoice_batch
from tests.reliability.world import ReliabilityWorld

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CLIENT_SECRET = "oauth-client-secret-for-the-reliability-suite"


@contextmanager
def while_first_invoice_is_answered(world: ReliabilityWorld, tenant: str, action: Callable[[], None]) -> Iterator[None]:
    """Hold back the answer to the first invoice POST and run ``action`` once the sandbox committed it."""
    world.inject(mode="slow_after_commit", method="POST", path="/v1/invoices", count=1, delay_seconds=2.0)
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            wait_until(lambda: bool(world.lexware(tenant, "invoices")), timeout=60, what="the first invoice")
            action()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield
    watcher.join(timeout=60)
    assert not errors, errors


def test_access_token_expiring_mid_run_is_refreshed_and_delivery_goes_on(world: ReliabilityWorld) -> None:
    tenant = "oauthexp"
    batch = invoice_batch(world, tenant, add_tenant=False)
    world.add_oauth_tenant(tenant, company_id=f"c-{tenant}", client_secret=CLIENT_SECRET)
    first = world.stored_token(tenant)
    expired: list[int] = []

    def expire() -> None:
        expired.append(world.sandbox.admin("POST", "/oauth/expire-access-tokens")["expired"])

    with while_first_invoice_is_answered(world, tenant, expire):
        runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())

    assert runs == ["success"], runs
    assert expired and expired[0] >= 1, "no access token was live to expire: the case proves nothing"
    # The first tokens were good for an hour: only the 401 after the expiry can have caused a refresh, and the
    # sandbox rotates the refresh token on every refresh (401s are not in the per-organisation request log).
    assert world.stored_token(tenant).refresh_token != first.refresh_token, "the token was not refreshed"
    outcome = audit(world, tenant, batch.stream, case="OAuth access token expired mid-run", valid=batch.valid,
                    invalid=batch.invalid)
    outcome.notes += ["tokens expired while the first POST was answered; 401, refresh (rotated), repeat",
                      "runs: success"]
    outcome.check(expected_reasons=batch.invalid.values())


@pytest.mark.parametrize("when", ["before the run", "mid-run"])
def test_revoked_authorisation_stops_with_reconnect_and_loses_nothing(world: ReliabilityWorld, when: str) -> None:
    from lexoffice.client import revoke_authorization

    tenant = "oauthrev"
    batch = invoice_batch(world, tenant, add_tenant=False)
    world.add_oauth_tenant(tenant, company_id=f"c-{tenant}", client_secret=CLIENT_SECRET)
    oauth = world.oauth[tenant]

    def revoke() -> None:  # what `lexoffice tenant disconnect` or the user in Lexware's settings does
        revoke_authorization(revoke_url=f"{world.sandbox.base_url}/oauth2/revoke", client_id=oauth.client_id,
                             client_secret=oauth.client_secret,
                             refresh_token=world.stored_token(tenant).refresh_token)

    if when == "mid-run":
        with while_first_invoice_is_answered(world, tenant, revoke):
            stopped = world.run_dag(batch.dag_id, **batch.run_kwargs())
        kept = ["invalid", "pending", "pending", "sent"]  # the answered invoice is recorded, the rest wait
    else:
        revoke()
        stopped = world.run_dag(batch.dag_id, **batch.run_kwargs())
        kept = ["invalid", "pending", "pending", "pending"]

    assert str(stopped.state) == "failed"  # so alerting fires
    blocked = [m for status, m in world.run_messages(tenant, batch.stream) if status == "blocked"]
    assert blocked and "reconnect" in blocked[0].lower(), world.run_messages(tenant, batch.stream)
    assert sorted(str(r.state) for r in world.outbox(tenant, batch.stream)) == kept

    world.oauth_consent(tenant)  # `lexoffice tenant reconnect`
    runs = world.run_until_settled(batch.dag_id, tenant, batch.stream, **batch.run_kwargs())
    assert runs == ["success"], runs  # once the fault is gone, one clean run settles it

    outcome = audit(world, tenant, batch.stream, case=f"OAuth authorisation revoked {when}", valid=batch.valid,
                    invalid=batch.invalid)
    outcome.notes += [f"blocked with 'reconnect', {kept.count('pending')} pending kept; delivered after reconnect",
                      f"runs: failed, {', '.join(runs)}"]
    outcome.check(expected_reasons=batch.invalid.values())
