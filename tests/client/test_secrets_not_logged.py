"""A run with known secrets, logged at DEBUG everywhere (urllib3 included): no secret in any line or error."""

from __future__ import annotations

import logging
import traceback

import pytest

from lexoffice.client import (
    ApiKeyAuth,
    LexofficeClient,
    MemoryTokenStore,
    OAuth2Auth,
    default_oauth_urls,
    exchange_code,
    revoke_authorization,
)
from lexoffice.client.errors import LexofficeError
from tests.client.sandbox_helpers import (
    FAST_RETRY,
    add_fault,
    consent,
    contact_body,
    create_org,
    invoice_body,
    register_oauth_client,
)

API_KEY = "known-api-key-7f3a9c1e5b"
CLIENT_SECRET = "known-client-secret-2d8e4b"


def _texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


def test_no_secret_in_logs_or_errors(sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3, requests, lexoffice.* all propagate here
    for name in ("urllib3", "urllib3.connectionpool", "lexoffice"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    secrets: set[str] = {API_KEY, CLIENT_SECRET}
    errors: list[BaseException] = []

    def expect_error(call) -> None:
        try:
            call()
        except LexofficeError as exc:
            errors.append(exc)
        else:
            raise AssertionError("expected a LexofficeError")

    # --- API key: successes, a rejection, retries, an outcome-unknown POST
    org = create_org(sandbox, api_key=API_KEY)
    with LexofficeClient(sandbox.base_url, ApiKeyAuth(API_KEY), retry=FAST_RETRY) as client:
        client.get_profile()
        contact = client.create_contact(contact_body())
        client.find_contacts(name="Musterfirma")
        expect_error(lambda: client.create_invoice({"voucherDate": "yesterday"}))
        add_fault(sandbox, mode="before", status=429, method="GET", path="/v1/profile")
        add_fault(sandbox, mode="before", status=503, method="GET", path="/v1/contacts")
        client.get_profile()
        client.get_contact(contact["id"])
        add_fault(sandbox, mode="drop_after_commit", method="POST", path="/v1/invoices")
        expect_error(lambda: client.create_invoice(invoice_body()))
        add_fault(sandbox, mode="after_commit", status=504, method="POST", path="/v1/invoices")
        expect_error(lambda: client.create_invoice(invoice_body()))

    # --- OAuth: exchange, refresh with rotation, wrong secret, revocation
    oauth = register_oauth_client(sandbox, client_secret=CLIENT_SECRET)
    urls = default_oauth_urls(sandbox.base_url)
    record = exchange_code(token_url=urls["token"], client_id=oauth["client_id"], client_secret=CLIENT_SECRET,
                           code=consent(sandbox, oauth, org), redirect_uri=oauth["redirect_uri"])
    secrets |= {record.refresh_token, record.access_token}
    store = MemoryTokenStore({"tenant": record})
    auth = OAuth2Auth(token_url=urls["token"], client_id=oauth["client_id"], client_secret=CLIENT_SECRET,
                      store=store, store_key="tenant", retry=FAST_RETRY)
    with LexofficeClient(sandbox.base_url, auth, retry=FAST_RETRY) as client:
        client.get_profile()
        sandbox.admin("POST", "/oauth/expire-access-tokens")
        client.get_profile()
        rotated = store.load("tenant")
        secrets |= {rotated.refresh_token, rotated.access_token}
        sandbox.admin("POST", "/oauth/expire-access-tokens")
        wrong = OAuth2Auth(token_url=urls["token"], client_id=oauth["client_id"], client_secret=CLIENT_SECRET[::-1],
                           store=store, store_key="tenant", retry=FAST_RETRY)
        secrets.add(CLIENT_SECRET[::-1])
        with LexofficeClient(sandbox.base_url, wrong, retry=FAST_RETRY) as wrong_client:
            expect_error(wrong_client.get_profile)
        revoke_authorization(revoke_url=urls["revoke"], client_id=oauth["client_id"], client_secret=CLIENT_SECRET,
                             refresh_token=rotated.refresh_token)
        expect_error(client.get_profile)
    last = store.load("tenant")
    secrets |= {last.refresh_token, last.access_token or API_KEY}

    lines = [record.getMessage() for record in caplog.records]
    lines += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    assert any("urllib3" in r.name for r in caplog.records), "urllib3 debug logging must have been captured"
    assert any(r.name.startswith("lexoffice") and r.levelno == logging.DEBUG for r in caplog.records)
    assert len(errors) == 5
    texts = lines + [text for error in errors for text in _texts_of(error)]
    for secret in secrets:
        leaks = [t for t in texts if secret in t]
        assert leaks == [], f"a secret leaked into: {leaks[:2]}"
