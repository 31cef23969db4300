"""LexofficeClient: every call to Lexware Office, throttled, retried by the one policy, errors typed.

``request()`` is the single door: it checks nothing is sent in clear text, waits for the rate limiter
before every attempt, attaches the bearer token, refreshes an OAuth token once on a 401, applies the retry
table of ``retry.py`` and turns every failure into a ``LexofficeError``. The typed calls on top only know
paths, parameters, paging and the few API quirks (search-string encoding, the 10,000 search window).

The finance endpoints (financial accounts, transactions) follow a community client of the partner API
and are UNVERIFIED against Lexware's partner documentation.
"""

from __future__ import annotations

import copy
import html
import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests

from lexoffice.client.auth import ApiKeyAuth, OAuth2Auth
from lexoffice.client.errors import (
    ConflictError,
    LexofficeError,
    NotFoundError,
    OutcomeUnknownError,
    TransportError,
    ValidationRejectedError,
    error_for_status,
    parse_error_body,
    resource_noun,
    strip_query,
)
from lexoffice.client.redact import SecretRegistry
from lexoffice.client.retry import RetryPolicy, RetryRequested, Verdict, parse_retry_after, verdict
from lexoffice.client.throttle import RateLimiter
from lexoffice.client.transport import BearerAuth, new_session, require_secure_url

log = logging.getLogger(__name__)

PAGE_SIZE_MAX = 250
TRANSACTIONS_PER_POST_MAX = 25
SEARCH_MIN_LENGTH = 3
SEARCH_WINDOW_EXCEEDED = "maximum search window size exceeded"


class _Auth(Protocol):
    secrets: SecretRegistry
    unauthorized_hint: str

    def bearer_token(self) -> str: ...

    def renew_after_unauthorized(self, rejected_token: str) -> bool: ...


class LexofficeClient:
    """A client for one Lexware Office organisation (one API key or one OAuth authorisation)."""

    def __init__(
        self,
        base_url: str,
        auth: ApiKeyAuth | OAuth2Auth,
        *,
        rate_limiter: RateLimiter | None = None,
        rate_key: str | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        base_url = base_url.strip().rstrip("/")
        require_secure_url(base_url, allow_insecure_http=allow_insecure_http)
        self.base_url = base_url
        self.auth: _Auth = auth
        self.rate_limiter = rate_limiter
        self.rate_key = rate_key or base_url
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        #: Called before every attempt, after any wait for the rate limit (delivery renews its organisation
        #: lease here, so a document whose retries outlast the lease's ttl never loses it mid-request).
        self.before_request: Callable[[], None] | None = None
        self._own_session = session is None
        self._session = session or new_session()
        #: HTTP requests this client sent (every attempt, retries included): the run's cost in API budget.
        self.requests_sent = 0

    # ------------------------------------------------------------------ the single door

    @property
    def session(self) -> requests.Session:
        """The underlying ``requests.Session`` (for hooks and adapters; never for credentials)."""
        return self._session

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one logical request under the retry policy; return the 2xx response or raise."""
        method = method.upper()
        if not path.startswith("/"):
            path = "/" + path
        url = self.base_url + path
        bare_path = strip_query(path)

        def attempt(number: int) -> requests.Response:
            response = self._send_authorised(method, url, params=params, json=json, number=number)
            return self._judge(method, bare_path, response, attempts=number)

        def on_retry(number: int, failure: RetryRequested, wait: float) -> None:
            log.warning(
                "Lexware %s %s: %s; attempt %d of %d failed, next in %.2f s",
                method, bare_path, failure.reason, number, self.retry.max_attempts, wait,
            )

        return self.retry.run(attempt, on_retry=on_retry)

    def _send_authorised(
        self, method: str, url: str, *, params: dict[str, Any] | None, json: Any, number: int
    ) -> requests.Response:
        """One attempt, plus the single repeat after a 401 that a token refresh can fix."""
        bare_path = strip_query(url[len(self.base_url):])
        token = self.auth.bearer_token()
        response = self._send(method, url, bare_path, token=token, params=params, json=json, number=number)
        if response.status_code == 401 and self.auth.renew_after_unauthorized(token):
            log.info("Lexware answered 401 to %s %s; repeating once with a fresh access token", method, bare_path)
            response.close()
            token = self.auth.bearer_token()
            response = self._send(method, url, bare_path, token=token, params=params, json=json, number=number)
        return response

    def _send(
        self,
        method: str,
        url: str,
        bare_path: str,
        *,
        token: str,
        params: dict[str, Any] | None,
        json: Any,
        number: int,
    ) -> requests.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(self.rate_key)
        if self.before_request is not None:
            self.before_request()
        started = time.monotonic()
        self.requests_sent += 1
        try:
            response = self._session.request(
                method,
                url,
                params=encode_query(params),
                json=json,
                auth=BearerAuth(token),
                timeout=self.timeout,
                verify=True,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            log.debug("Lexware %s %s attempt %d: %s", method, bare_path, number, type(exc).__name__)
            raise self._transport_failure(method, bare_path, exc, attempts=number) from exc
        log.debug(
            "Lexware %s %s attempt %d: HTTP %d in %.3f s",
            method, bare_path, number, response.status_code, time.monotonic() - started,
        )
        return response

    def _transport_failure(
        self, method: str, path: str, exc: requests.exceptions.RequestException, *, attempts: int
    ) -> Exception:
        """The exception for a request without a usable answer (a RetryRequested if it may be repeated)."""
        kind = type(exc).__name__
        noun = resource_noun(path)
        decision = verdict(method, error=exc)
        if decision is Verdict.OUTCOME_UNKNOWN:
            return OutcomeUnknownError(
                f"The {noun} may or may not have been executed by Lexware: the connection failed after the "
                f"request was sent ({kind}). Reconcile before sending it again",
                method=method,
                path=path,
            )
        if isinstance(exc, requests.exceptions.SSLError):
            message = f"TLS verification with Lexware failed for the {noun}: check the host name and certificates"
        else:
            message = f"Could not get an answer from Lexware for the {noun} after {attempts} attempt(s) ({kind})"
        error = TransportError(message, method=method, path=path)
        if decision is Verdict.RETRY:
            return RetryRequested(error, reason=kind)
        return error

    def _judge(self, method: str, path: str, response: requests.Response, *, attempts: int) -> requests.Response:
        """Return a 2xx response; raise the right error, or ask for a retry, otherwise."""
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = parse_error_body(self.auth.secrets.scrub(response.text))
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        decision = verdict(method, status=status)
        if decision is Verdict.OUTCOME_UNKNOWN:
            raise OutcomeUnknownError(
                f"Lexware answered HTTP {status} to the {resource_noun(path)}; it may or may not have been "
                "executed (a 504 can still have succeeded, a redirect is never followed). Reconcile before "
                "sending it again",
                status=status,
                trace_id=body.trace_id,
                issues=body.issues,
                method=method,
                path=path,
                server_message=body.message,
            )
        if 300 <= status < 400:
            raise LexofficeError(
                f"Lexware answered with an unexpected redirect (HTTP {status}) for the {resource_noun(path)}",
                status=status, method=method, path=path,
            )
        error = error_for_status(
            status,
            method=method,
            path=path,
            body=body,
            attempts=attempts,
            retry_after=retry_after,
            unauthorized_hint=self.auth.unauthorized_hint,
        )
        if decision is Verdict.RETRY:
            raise RetryRequested(error, retry_after=retry_after, reason=f"HTTP {status}")
        raise error

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The 2xx answer's JSON. A POST without a readable answer did something we cannot name: that is
        "outcome unknown", not a plain error, or the caller would think nothing was created."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            message = f"Lexware sent no readable JSON for the {resource_noun(path)} (HTTP {response.status_code})"
            if method.upper() == "POST":
                raise OutcomeUnknownError(
                    f"{message}; it was probably executed. Reconcile before sending it again",
                    status=response.status_code, method=method, path=path,
                ) from None
            raise LexofficeError(message, status=response.status_code, method=method, path=strip_query(path)) from None

    # ------------------------------------------------------------------ profile

    def get_profile(self) -> dict[str, Any]:
        """The organisation behind the credentials (name, tax type, small-business flag, features)."""
        return self._json("GET", "/v1/profile")

    # ------------------------------------------------------------------ contacts

    def find_contacts(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        number: int | str | None = None,
        customer: bool | None = None,
        vendor: bool | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> list[dict[str, Any]]:
        """All contacts matching every given filter (all pages).

        ``email`` and ``name`` are substring matches in which ``%`` and ``_`` are wildcards, so compare
        the results exactly before adopting one.
        """
        params: dict[str, Any] = {}
        for label, value in (("email", email), ("name", name)):
            if value is not None:
                if len(value.strip()) < SEARCH_MIN_LENGTH:
                    raise ValueError(f"Lexware needs at least {SEARCH_MIN_LENGTH} characters to search by {label}")
                params[label] = encode_search_string(value.strip())
        if number is not None:
            params["number"] = str(number)
        if customer is not None:
            params["customer"] = "true" if customer else "false"
        if vendor is not None:
            params["vendor"] = "true" if vendor else "false"
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
        return list(self._pages("/v1/contacts", params, page_size=page_size))

    def create_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a contact (``version`` 0); returns ``{id, resourceUri, createdDate, updatedDate, version}``."""
        return self._json("POST", "/v1/contacts", json=body)

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/contacts/{_segment(contact_id)}")

    def update_contact(
        self,
        contact_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        max_conflict_retries: int = 3,
    ) -> dict[str, Any]:
        """Read the contact, apply ``change`` to a copy, PUT it with the version read; on 409 start over.

        ``change`` may run more than once, so it must derive the new state from what it is given.
        """
        path = f"/v1/contacts/{_segment(contact_id)}"
        for round_number in range(max_conflict_retries + 1):
            current = self.get_contact(contact_id)
            updated = change(copy.deepcopy(current))
            if not isinstance(updated, dict):
                raise TypeError("update_contact's change() must return the contact as a dict")
            updated["version"] = current.get("version")
            try:
                return self._json("PUT", path, json=updated)
            except ConflictError:
                if round_number == max_conflict_retries:
                    raise
                log.info("Contact changed while updating it (409); reading it again (round %d)", round_number + 2)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ invoices

    def create_invoice(self, body: dict[str, Any], *, finalize: bool = False) -> dict[str, Any]:
        """POST an invoice: a draft unless ``finalize``. Never retried after it may have been sent."""
        params = {"finalize": "true"} if finalize else None
        return self._json("POST", "/v1/invoices", json=body, params=params)

    def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/invoices/{_segment(invoice_id)}")

    # ------------------------------------------------------------------ voucherlist

    def iter_voucherlist(
        self,
        *,
        voucher_type: str,
        voucher_status: str,
        contact_id: str | None = None,
        created_from: date | None = None,
        created_to: date | None = None,
        voucher_date_from: date | None = None,
        voucher_date_to: date | None = None,
        updated_from: date | None = None,
        updated_to: date | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Every matching voucher, page after page, oldest first by creation.

        Lexware refuses queries matching more than 10,000 vouchers ("Maximum search window size
        exceeded"); then the date range (created, else voucher date, else updated; it needs both ends)
        is halved until each part fits. Vouchers are yielded once even if a split re-reads some.
        """
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
        ranges = {
            "createdDate": (created_from, created_to),
            "voucherDate": (voucher_date_from, voucher_date_to),
            "updatedDate": (updated_from, updated_to),
        }
        base: dict[str, Any] = {"voucherType": voucher_type, "voucherStatus": voucher_status}
        if contact_id:
            base["contactId"] = contact_id
        seen: set[str] = set()
        for item in self._voucherlist_ranges(base, {k: (_day(a), _day(b)) for k, (a, b) in ranges.items()}, page_size):
            key = str(item.get("id"))
            if key not in seen:
                seen.add(key)
                yield item

    def _voucherlist_ranges(
        self, base: dict[str, Any], ranges: dict[str, tuple[date | None, date | None]], page_size: int
    ) -> Iterator[dict[str, Any]]:
        params = dict(base)
        for field, (start, end) in ranges.items():
            if start is not None:
                params[f"{field}From"] = start.isoformat()
            if end is not None:
                params[f"{field}To"] = end.isoformat()
        try:
            yield from self._pages("/v1/voucherlist", params, page_size=page_size, sort="createdDate,ASC")
            return
        except ValidationRejectedError as exc:
            if SEARCH_WINDOW_EXCEEDED not in (exc.server_message or str(exc)).lower():
                raise
            split = _split_first_range(ranges)
            if split is None:
                raise ValidationRejectedError(
                    "Lexware's voucher list has more than 10,000 matches and the query cannot be narrowed: "
                    "give a created, voucher or updated date range (from and to) spanning more than one day",
                    status=exc.status, trace_id=exc.trace_id, issues=exc.issues, method=exc.method,
                    path=exc.path, server_message=exc.server_message,
                ) from exc
            log.info("Voucher list over the 10,000 search window; splitting the %s range", split[0][0])
        for field, part in split:
            yield from self._voucherlist_ranges(base, {**ranges, field: part}, page_size)

    def _pages(
        self, path: str, params: dict[str, Any], *, page_size: int = PAGE_SIZE_MAX, sort: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Follow Lexware's paging envelope until ``last``."""
        page = 0
        while True:
            query = {**params, "page": page, "size": page_size}
            if sort:
                query["sort"] = sort
            envelope = self._json("GET", path, params=query) or {}
            yield from envelope.get("content") or []
            total_pages = envelope.get("totalPages")
            if envelope.get("last", True) or not envelope.get("content") or (
                isinstance(total_pages, int) and page + 1 >= total_pages
            ):
                return
            page += 1

    # ------------------------------------------------------------------ partner finance API (UNVERIFIED)

    def find_financial_accounts(
        self, *, iban: str | None = None, external_reference: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("iban", iban), ("externalReference", external_reference)) if v}
        return list(self._json("GET", "/v1/finance/accounts", params=params or None) or [])

    def create_financial_account(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v1/finance/financial-accounts", json=body)

    def push_transactions(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST one batch (1..25) of transactions; atomic at Lexware, not de-duplicated by it."""
        if not items:
            raise ValueError("push_transactions needs at least one transaction")
        if len(items) > TRANSACTIONS_PER_POST_MAX:
            raise ValueError(f"Lexware accepts at most {TRANSACTIONS_PER_POST_MAX} transactions per request")
        return list(self._json("POST", "/v1/finance/transactions", json=list(items)) or [])

    def get_transaction(self, transaction_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/finance/transactions/{_segment(transaction_id)}")

    def latest_transaction(self, financial_account_id: str) -> dict[str, Any] | None:
        """The account's most recently created transaction, or None if it has none."""
        try:
            return self._json(
                "GET",
                "/v1/finance/transactions/latest-transaction",
                params={"financialAccountId": financial_account_id},
            )
        except NotFoundError:
            return None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> LexofficeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LexofficeClient(base_url={self.base_url!r}, auth={self.auth!r})"


def encode_search_string(value: str) -> str:
    """HTML-encode ``&``, ``<`` and ``>`` as Lexware's search filters require (requests URL-encodes after).

    A merely URL-encoded ``&`` silently matches nothing at Lexware.
    """
    return html.escape(value, quote=False)


def encode_query(params: dict[str, Any] | None) -> str | None:
    """Percent-encode a query (spaces as ``%20``, as Lexware's docs show, not ``+``); drop None values."""
    if not params:
        return None
    pairs = [(key, str(value)) for key, value in params.items() if value is not None]
    return urlencode(pairs, quote_via=_quote_all)


def _quote_all(value: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    return quote(value, safe="", encoding=encoding, errors=errors)


def _segment(value: str) -> str:
    """A path segment that cannot escape its place (ids come from data, not from us)."""
    text = str(value)
    if not text:
        raise ValueError("an id must not be empty")
    return quote(text, safe="")


def _day(value: date | datetime | str | None) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value  # type: ignore[return-value]
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def _split_first_range(
    ranges: dict[str, tuple[date | None, date | None]],
) -> list[tuple[str, tuple[date, date]]] | None:
    """Halve the first date range with both ends that spans more than one day."""
    for field, (start, end) in ranges.items():
        if start is not None and end is not None and end > start:
            middle = start + timedelta(days=(end - start).days // 2)
            return [(field, (start, middle)), (field, (middle + timedelta(days=1), end))]
    return None
