"""The three error body shapes Lexware uses, and one exception that carries any of them to the response.

Gateway errors (401, 429, 5xx, 504) are AWS-API-Gateway style ``{"message": ...}``; contacts use the legacy
``IssueList``; invoices, voucherlist, profile (and, by our choice, the finance API) use the regular body with a
``traceId``. Keeping the shapes here lets every route raise the right one without knowing its fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from sandbox.clock import server_timestamp

GATEWAY_MESSAGES: dict[int, str | None] = {
    401: "Unauthorized",
    429: "Too Many Requests",
    500: None,
    502: "Internal server error",
    503: "Service Unavailable",
    504: "Endpoint request timed out",
}


@dataclass(frozen=True)
class Violation:
    """One entry of a regular 406 body's ``details``."""

    field: str
    violation: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"violation": self.violation, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Issue:
    """One entry of a legacy ``IssueList`` body."""

    i18n_key: str
    source: str | None
    type: str = "validation_failure"
    additional_data: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"i18nKey": self.i18n_key, "source": self.source, "type": self.type,
                "additionalData": self.additional_data, "args": None}


@dataclass
class ApiError(Exception):
    """Raised anywhere in a request; the app renders ``body`` with ``status`` unchanged."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"ApiError({self.status})"


def gateway_body(status: int) -> dict[str, Any]:
    if status in GATEWAY_MESSAGES:
        return {"message": GATEWAY_MESSAGES[status]}
    try:
        return {"message": HTTPStatus(status).phrase}
    except ValueError:
        return {"message": None}


def regular_body(status: int, path: str, message: str, details: list[Violation] | None = None) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "timestamp": server_timestamp(),
        "status": status,
        "error": phrase,
        "path": path,
        "traceId": uuid.uuid4().hex[:12],
        "message": message,
    }
    if details is not None:
        body["details"] = [d.as_json() for d in details]
    return body


def regular_error(status: int, path: str, message: str, details: list[Violation] | None = None) -> ApiError:
    return ApiError(status, regular_body(status, path, message, details))


def validation_error(path: str, violations: list[Violation]) -> ApiError:
    return regular_error(406, path, "Validation failed for request. Please see details list for specific causes.",
                         violations)


def issue_error(status: int, issues: list[Issue]) -> ApiError:
    return ApiError(status, {"IssueList": [i.as_json() for i in issues]})
