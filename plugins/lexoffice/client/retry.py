"""THE retry decision for Lexware requests, in one place, and the backoff policy that applies it.

Lexware has no idempotency key, so repeating a POST that may have reached the server can create a second
invoice. The table (``verdict``) is therefore by HTTP semantics:

=========================  =============================  ==========================================
what happened              GET / PUT / DELETE / HEAD      POST (and PATCH)
=========================  =============================  ==========================================
2xx                        done                           done
3xx (never followed)       fail                           OUTCOME UNKNOWN
429                        retry (call was not executed)  retry (call was not executed)
5xx (incl. 504)            retry                          OUTCOME UNKNOWN (a 504 may have succeeded)
other 4xx (401 aside)      fail                           fail
connect error / DNS /      retry                          retry (the request never left this host)
connect timeout
read timeout, reset,       retry                          OUTCOME UNKNOWN
dropped / incomplete body
TLS failure, bad URL       fail                           fail
=========================  =============================  ==========================================

401 is not a retry: the client refreshes an OAuth token once and repeats once (see ``api.py``).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# requests exceptions that mean "this request is malformed or cannot be trusted", never worth a repeat.
_PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidJSONError,
    requests.exceptions.URLRequired,
    requests.exceptions.TooManyRedirects,
)


class Verdict(Enum):
    DONE = "done"  # a success: nothing to decide
    RETRY = "retry"  # safe and useful to send again
    OUTCOME_UNKNOWN = "outcome_unknown"  # a POST may have been executed: never repeat blindly
    FAIL = "fail"  # a final answer: raise it


def verdict(
    method: str,
    *,
    status: int | None = None,
    error: BaseException | None = None,
    idempotent: bool | None = None,
) -> Verdict:
    """Classify one attempt's result (an HTTP status or a transport error) for ``method``.

    ``idempotent`` overrides the method's semantics for the rare POST that is safe to repeat (an OAuth
    token refresh: a repeat either works or yields ``invalid_grant``).
    """
    safe_to_repeat = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
    if error is not None:
        if isinstance(error, _PERMANENT_ERRORS):
            return Verdict.FAIL
        if not isinstance(error, requests.exceptions.RequestException):
            return Verdict.FAIL
        if request_was_not_sent(error):
            return Verdict.RETRY
        return Verdict.RETRY if safe_to_repeat else Verdict.OUTCOME_UNKNOWN
    if status is None:
        raise ValueError("verdict() needs a status or an error")
    if status < 300:
        return Verdict.DONE
    if status < 400:  # redirects are never followed; a POST answered so may still have been executed
        return Verdict.FAIL if safe_to_repeat else Verdict.OUTCOME_UNKNOWN
    if status == 429:
        return Verdict.RETRY
    if status >= 500:
        return Verdict.RETRY if safe_to_repeat else Verdict.OUTCOME_UNKNOWN
    return Verdict.FAIL


def is_retryable(
    method: str,
    *,
    status: int | None = None,
    error: BaseException | None = None,
    idempotent: bool | None = None,
) -> bool:
    """The retry predicate: may this attempt be repeated automatically?"""
    return verdict(method, status=status, error=error, idempotent=idempotent) is Verdict.RETRY


def is_outcome_unknown(
    method: str,
    *,
    status: int | None = None,
    error: BaseException | None = None,
    idempotent: bool | None = None,
) -> bool:
    """True when the request may have been executed and must not be repeated without reconciling."""
    return verdict(method, status=status, error=error, idempotent=idempotent) is Verdict.OUTCOME_UNKNOWN


def request_was_not_sent(error: BaseException) -> bool:
    """True if ``error`` happened before any byte of the request reached the server.

    That is the case for a refused connection, a failed DNS lookup and a connect timeout: urllib3 reports
    all of them as ``ConnectTimeoutError`` or its subclass ``NewConnectionError``. A reset or a timeout on
    an established connection may come after the server read the request, so it does not count.
    """
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError):
        return False
    return any(isinstance(cause, ConnectTimeoutError) for cause in _causes(error))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (exception args, urllib3 ``reason``, __cause__, __context__)."""
    pending: list[object] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(current.args)
        pending.extend([getattr(current, "reason", None), current.__cause__, current.__context__])


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


class RetryRequested(Exception):
    """Raised inside an attempt to ask for another one.

    ``final_error`` is what the caller gets if the policy has no attempt or time left.
    """

    def __init__(self, final_error: BaseException, *, retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(reason or type(final_error).__name__)
        self.final_error = final_error
        self.retry_after = retry_after
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to repeat retryable attempts: exponential backoff with jitter, bounded.

    ``Retry-After`` (when Lexware sends one, which it is not documented to do) replaces the backoff for
    that wait, capped at ``retry_after_max``. No wait may push the total past ``max_total_seconds``; if
    it would, the last error is raised instead.
    """

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.5
    retry_after_max: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_total_seconds <= 0:
            raise ValueError("max_total_seconds must be positive")

    def wait_seconds(self, attempt_number: int, retry_after: float | None) -> float:
        """The pause after failed attempt ``attempt_number`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.jitter
        )
        return float(backoff(_FakeState(attempt_number)))  # type: ignore[arg-type]

    def run(
        self,
        attempt: Callable[[int], T],
        *,
        on_retry: Callable[[int, RetryRequested, float], None] | None = None,
    ) -> T:
        """Call ``attempt(n)`` until it returns or raises something other than ``RetryRequested``.

        When attempts or time run out, the last ``RetryRequested.final_error`` is raised.
        """

        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            retry_after = failure.retry_after if isinstance(failure, RetryRequested) else None
            return self.wait_seconds(state.attempt_number, retry_after)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            if on_retry is not None and isinstance(failure, RetryRequested):
                on_retry(state.attempt_number, failure, state.upcoming_sleep)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_before_delay(self.max_total_seconds),
            wait=wait,
            retry=tenacity.retry_if_exception_type(RetryRequested),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for state in retrying:
                with state:
                    result = attempt(state.retry_state.attempt_number)
        except RetryRequested as failure:
            raise failure.final_error from (failure.__cause__ or failure.final_error.__cause__)
        return result


@dataclass
class _FakeState:
    """The one attribute tenacity's wait strategies read, so the backoff can be computed on its own."""

    attempt_number: int
