"""Client behaviour the sandbox cannot provoke (HTTP faked with ``responses``)."""

from __future__ import annotations

import pytest
import responses

from lexoffice.client import ApiKeyAuth, LexofficeClient, RetryPolicy, encode_search_string
from lexoffice.client.errors import LexofficeError, OutcomeUnknownError

BASE = "https://api.lexware.test"


@pytest.fixture
def client():
    policy = RetryPolicy(max_attempts=2, backoff_initial=0.001)
    with LexofficeClient(BASE, ApiKeyAuth("unit-key-123456"), retry=policy) as c:
        yield c


@responses.activate
def test_a_created_answer_without_json_is_outcome_unknown(client: LexofficeClient) -> None:
    responses.post(f"{BASE}/v1/invoices", status=201, body="")
    with pytest.raises(OutcomeUnknownError, match="probably executed"):
        client.create_invoice({"voucherDate": "x"})
    assert len(responses.calls) == 1


@responses.activate
def test_a_read_without_json_is_an_error(client: LexofficeClient) -> None:
    responses.get(f"{BASE}/v1/profile", status=200, body="<html>maintenance</html>")
    with pytest.raises(LexofficeError) as info:
        client.get_profile()
    assert not isinstance(info.value, OutcomeUnknownError)


@responses.activate
def test_redirects_are_not_followed(client: LexofficeClient) -> None:
    responses.get(f"{BASE}/v1/profile", status=302, headers={"Location": "https://elsewhere.example/steal"})
    responses.post(f"{BASE}/v1/invoices", status=303, headers={"Location": "https://elsewhere.example/x"})
    with pytest.raises(LexofficeError, match="redirect") as info:
        client.get_profile()
    assert not isinstance(info.value, OutcomeUnknownError)
    with pytest.raises(OutcomeUnknownError, match="redirect"):
        client.create_invoice({"voucherDate": "x"})
    assert len(responses.calls) == 2


def test_empty_ids_are_refused(client: LexofficeClient) -> None:
    with pytest.raises(ValueError):
        client.get_invoice("")


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [("Bike & Ride", "Bike &amp; Ride"), ("<Muster>", "&lt;Muster&gt;"), ("O'Neil \"GmbH\"", "O'Neil \"GmbH\"")],
)
def test_search_string_encoding(raw: str, encoded: str) -> None:
    assert encode_search_string(raw) == encoded


@responses.activate
def test_search_string_is_html_then_url_encoded_on_the_wire(client: LexofficeClient) -> None:
    responses.get(f"{BASE}/v1/contacts", json={"content": [], "last": True})
    client.find_contacts(name="johnson & partner")
    assert "name=johnson%20%26amp%3B%20partner&" in responses.calls[0].request.url  # as in Lexware's docs
