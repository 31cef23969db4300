"""What can go wrong when talking to Lexware Office, as exceptions a caller can act on.

Lexware answers errors in two body formats (the legacy ``IssueList`` of contacts/files/vouchers and the
regular ``{traceId, message, details[]}`` of everything else); both are parsed here once, into field-level
``Issue`` objects, so callers (the outbox, the report) never look at raw bodies.

Every error carries the HTTP status, Lexware's ``traceId`` (what support asks for), the issues, and the
method and path of the request (never the query string, which may hold search terms). Messages are built
by the client after secrets were scrubbed from any text that came back from the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Issue:
    """One thing Lexware objected to: the offending field (if it named one), a code and a message."""

    field: str | None
    code: str | None
    message: str

    def __str__(self) -> str:
        text = self.message
        if self.code and self.code != self.message:
            text = f"{text} ({self.code})"
        return f"{self.field}: {text}" if self.field else text


class LexofficeError(Exception):
    """Base class: a request to Lexware Office did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        trace_id: str | None = None,
        issues: list[Issue] | None = None,
        method: str | None = None,
        path: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.server_message = server_message
        self.status = status
        self.trace_id = trace_id
        self.issues: list[Issue] = list(issues or [])
        self.method = method.upper() if method else None
        self.path = strip_query(path) if path else None

    def __str__(self) -> str:
        context = []
        if self.status is not None:
            context.append(f"HTTP {self.status}")
        if self.method and self.path:
            context.append(f"{self.method} {self.path}")
        if self.trace_id:
            context.append(f"traceId {self.trace_id}")
        return f"{self.message} [{', '.join(context)}]" if context else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the attributes when the error crosses a process boundary (pickling by Airflow, executors).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[LexofficeError], message: str, state: dict[str, Any]) -> LexofficeError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class AuthenticationError(LexofficeError):
    """401: the API key or access token was not accepted (or the OAuth client credentials were wrong)."""


class ReconnectRequiredError(AuthenticationError):
    """The OAuth authorisation is gone (revoked, expired, refresh token unknown): a person must reconnect."""


class ForbiddenError(LexofficeError):
    """403: authenticated, but the key or authorisation lacks the permission (scope) for this call."""


class PaymentRequiredError(LexofficeError):
    """402: the organisation's Lexware contract or plan does not include this feature."""


class RateLimitedError(LexofficeError):
    """429 even after the retries: the organisation's budget of 2 requests/s is used by someone else too."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ValidationRejectedError(LexofficeError):
    """400/406/415/422: Lexware rejected the request's content; ``issues`` names the fields. Never retried."""


class ConflictError(LexofficeError):
    """409: the resource changed since it was read (optimistic locking) or the action is not allowed now."""


class NotFoundError(LexofficeError):
    """404/405: no such resource (or no such route/method, which Lexware also answers with 404)."""


class ServerError(LexofficeError):
    """5xx on a request that is safe to repeat, still failing after the retries."""


class OutcomeUnknownError(LexofficeError):
    """A POST may or may not have been executed: reconcile before sending it again.

    Raised for a timeout after the request was sent, a connection reset or dropped mid-response, and any
    5xx (a 504 is documented to have possibly succeeded). Never retried automatically.
    """


class TransportError(LexofficeError):
    """No usable HTTP answer (connection refused, timeout, TLS failure) where repeating would be safe.

    For a POST this is only raised when the request provably never left this machine; otherwise the
    POST raises ``OutcomeUnknownError``.
    """


class InsecureTransportError(LexofficeError):
    """Refused to send credentials over plain ``http://`` to a host that is not loopback."""


def strip_query(path: str) -> str:
    """The path of a URL or path, without scheme, host, query string or fragment."""
    return urlsplit(path).path or "/"


@dataclass(frozen=True)
class ParsedBody:
    """What an error body said, whichever of Lexware's formats it used."""

    message: str | None
    trace_id: str | None
    issues: list[Issue]
    oauth_error: str | None = None


def parse_error_body(text: str) -> ParsedBody:
    """Parse an error body in any of Lexware's formats (legacy IssueList, regular, gateway, OAuth)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        snippet = " ".join(text.split())[:200]
        return ParsedBody(message=snippet or None, trace_id=None, issues=[])
    if isinstance(data, list):  # a bare list of issues has been seen on some endpoints
        data = {"IssueList": data}
    if not isinstance(data, dict):
        return ParsedBody(message=None, trace_id=None, issues=[])

    issues: list[Issue] = []
    for key in ("IssueList", "issueList"):
        for raw in _dicts(data.get(key)):
            code = _text(raw.get("i18nKey"))
            kind = _text(raw.get("type"))
            issues.append(Issue(field=_text(raw.get("source")), code=code, message=kind or code or "invalid"))
    for key in ("details", "errors"):
        for raw in _dicts(data.get(key)):
            code = _text(raw.get("violation")) or _text(raw.get("code"))
            message = _text(raw.get("message")) or code or "invalid"
            issues.append(Issue(field=_text(raw.get("field")), code=code, message=message))

    message = _text(data.get("message")) or _text(data.get("error_description")) or _text(data.get("error"))
    return ParsedBody(
        message=message,
        trace_id=_text(data.get("traceId")) or _text(data.get("trace_id")),
        issues=issues,
        oauth_error=_text(data.get("error")) if "error" in data and "status" not in data else None,
    )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_RESOURCE_NOUNS: tuple[tuple[str, str], ...] = (
    ("/v1/invoices", "invoice"),
    ("/v1/contacts", "contact"),
    ("/v1/voucherlist", "voucher list query"),
    ("/v1/profile", "profile request"),
    ("/v1/finance/financial-accounts", "financial account"),
    ("/v1/finance/accounts", "financial account"),
    ("/v1/finance/transactions/latest-transaction", "latest-transaction query"),
    ("/v1/finance/transactions", "transactions"),
    ("/oauth2/token", "token request"),
    ("/oauth2/revoke", "revocation"),
)


def resource_noun(path: str) -> str:
    """What a person would call the thing a request is about, for messages ("the invoice")."""
    bare = strip_query(path)
    for prefix, noun in _RESOURCE_NOUNS:
        if bare == prefix or bare.startswith(prefix + "/"):
            return noun
    return "request"


def error_for_status(
    status: int,
    *,
    method: str,
    path: str,
    body: ParsedBody,
    attempts: int = 1,
    retry_after: float | None = None,
    unauthorized_hint: str | None = None,
) -> LexofficeError:
    """The exception for a final non-2xx answer (after the retry policy has given up or declined).

    ``body`` must already be scrubbed of secrets. Whether a 5xx means "outcome unknown" is decided by the
    caller through the retry predicate; here a 5xx always becomes ``ServerError``.
    """
    noun = resource_noun(path)
    said = body.message
    reasons = "; ".join(str(issue) for issue in body.issues) or said or "no reason given"
    common: dict[str, Any] = dict(
        status=status, trace_id=body.trace_id, issues=body.issues, method=method, path=path, server_message=said
    )
    if status in (400, 406, 415, 422):
        return ValidationRejectedError(f"Lexware rejected the {noun}: {reasons}", **common)
    if status == 401:
        hint = unauthorized_hint or "check the API key (keys expire after 24 months) or reconnect this tenant"
        return AuthenticationError(f"Lexware did not accept the credentials for the {noun}: {hint}", **common)
    if status == 402:
        return PaymentRequiredError(
            f"Lexware refused the {noun} because of the organisation's contract or plan "
            f"({said or 'payment required'}): the organisation needs the Lexware plan or feature for it",
            **common,
        )
    if status == 403:
        return ForbiddenError(
            f"Lexware denied access to the {noun}: the API key or authorisation lacks the permission (scope) "
            "for it; issue a key with that permission or reconnect this tenant",
            **common,
        )
    if status == 404:
        return NotFoundError(f"Lexware has no such {noun} (not found)", **common)
    if status == 405:
        return NotFoundError(f"Lexware does not offer {method.upper()} for the {noun}", **common)
    if status == 409:
        why = reasons if body.issues or said else "it was changed since it was read"
        return ConflictError(f"Lexware reported a conflict for the {noun}: {why}", **common)
    if status == 429:
        return RateLimitedError(
            f"Lexware kept rate-limiting the {noun} after {attempts} attempt(s) (2 requests/s per organisation, "
            "shared with every other integration of it); try again later",
            retry_after=retry_after,
            **common,
        )
    if status >= 500:
        return ServerError(
            f"Lexware had a server error for the {noun} after {attempts} attempt(s) ({said or 'no detail'}); "
            "try again later",
            **common,
        )
    return LexofficeError(f"Lexware answered HTTP {status} for the {noun}: {reasons}", **common)
