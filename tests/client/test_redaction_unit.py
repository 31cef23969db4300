"""Secrets echoed by a server or present in foreign log records are scrubbed (HTTP faked with ``responses``)."""

from __future__ import annotations

import logging

import pytest
import responses

from lexoffice.client import ApiKeyAuth, LexofficeClient, RetryPolicy
from lexoffice.client.errors import ValidationRejectedError
from lexoffice.client.redact import MASK, RedactingFilter, SecretRegistry, scrub

BASE = "https://api.lexware.test"
KEY = "echoed-api-key-99887766"


@responses.activate
def test_a_secret_echoed_in_an_error_body_is_scrubbed() -> None:
    responses.get(
        f"{BASE}/v1/contacts",
        status=400,
        json={"IssueList": [{"i18nKey": "bad_request_error", "source": f"Bearer {KEY}", "type": "validation_failure"}]},
    )
    with LexofficeClient(BASE, ApiKeyAuth(KEY), retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ValidationRejectedError) as info:
            client.find_contacts(name="Muster")
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert f"Bearer {MASK}" in str(info.value)
    assert all(KEY not in str(issue) for issue in info.value.issues)


@responses.activate
def test_the_key_is_sent_only_as_a_bearer_header() -> None:
    responses.get(f"{BASE}/v1/profile", json={"companyName": "X"})
    with LexofficeClient(BASE, ApiKeyAuth(KEY)) as client:
        client.get_profile()
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in request.url
    assert request.headers["Accept"] == "application/json"


def test_registry_scrubs_longest_first_and_ignores_short_values() -> None:
    registry = SecretRegistry(["abc", "token-1234", "token-1234-extended"])
    assert registry.scrub("a token-1234-extended and token-1234 and abc") == f"a {MASK} and {MASK} and abc"
    assert scrub("x secret-value y", ["secret-value", None]) == f"x {MASK} y"


def test_registry_tells_each_new_secret_once() -> None:
    heard: list[str] = []
    registry = SecretRegistry(on_add=heard.append)
    registry.add("secret-aaaa")
    registry.add("secret-aaaa")
    registry.add(None)
    assert heard == ["secret-aaaa"]


def test_redacting_filter_on_foreign_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.foreign")
    handler_filter = RedactingFilter(SecretRegistry([KEY]))
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="tests.foreign"):
            logger.info("header was %s", f"Bearer {KEY}")
    finally:
        logger.removeFilter(handler_filter)
    assert caplog.records[-1].getMessage() == f"header was Bearer {MASK}"
