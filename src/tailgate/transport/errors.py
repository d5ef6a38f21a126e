"""Typed transport errors, and the classifier that turns an HTTP outcome into one.

Callers decide what to do from the *type*, never from a status code or a message:

* `RetryableError` — try again later (`retry_after` when the venue said how long). Its
  `maybe_processed` says whether the venue may already have acted on the request: a 429 or a
  refused connection did not reach the venue's logic, a read timeout or a 5xx may have.
* `NonRetryableError` — the venue answered definitively (a 4xx): sending the same thing again
  gets the same answer.
* `FatalError` — credentials or signatures refused: stop, a human must look.
* `AmbiguousError` — a request that must not be sent twice (an order) failed after it may have
  reached the venue. It is deliberately *not* a `RetryableError`, so no generic
  `except RetryableError: retry` can ever re-send an order; the execution layer marks the
  intent UNKNOWN and resolves it by querying the venue (SPEC §E1).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "AmbiguousError",
    "CircuitOpenError",
    "FatalError",
    "NonRetryableError",
    "OverCapacityError",
    "Reason",
    "RetryableError",
    "TransportError",
    "classify_exception",
    "classify_response",
    "parse_retry_after",
]


class Reason:
    """Why a request failed: the label of the retry and request metrics."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    MALFORMED = "malformed"
    CIRCUIT_OPEN = "circuit_open"
    CLIENT_ERROR = "client_error"
    AUTH = "auth"
    OVER_CAPACITY = "over_capacity"


class TransportError(Exception):
    """Base of every error a transport raises; `reason` is a `Reason` constant."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.endpoint = endpoint


class RetryableError(TransportError):
    """Transient: the same request may succeed later."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        retry_after: float | None = None,
        maybe_processed: bool = True,
        status: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason, status=status, endpoint=endpoint)
        self.retry_after = retry_after
        self.maybe_processed = maybe_processed


class CircuitOpenError(RetryableError):
    """Denied locally: the endpoint's breaker is open, nothing was sent."""

    def __init__(self, endpoint: str, retry_after: float | None) -> None:
        super().__init__(
            f"circuit open for {endpoint}",
            reason=Reason.CIRCUIT_OPEN,
            retry_after=retry_after,
            maybe_processed=False,
            endpoint=endpoint,
        )


class NonRetryableError(TransportError):
    """Definitive: the venue refused this request; sending it again changes nothing."""


class OverCapacityError(NonRetryableError):
    """Denied locally: a request or subscription set larger than the venue allows at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason=Reason.OVER_CAPACITY)


class FatalError(TransportError):
    """Credentials, signature or permissions refused: no request of this kind can succeed."""


class AmbiguousError(TransportError):
    """A non-idempotent request may or may not have been executed by the venue."""

    def __init__(self, cause: RetryableError) -> None:
        super().__init__(
            f"outcome unknown, not re-sent: {cause}",
            reason=cause.reason,
            status=cause.status,
            endpoint=cause.endpoint,
        )
        self.cause = cause


_FATAL_STATUSES = frozenset({401, 403})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def classify_response(
    response: httpx.Response, *, endpoint: str | None = None
) -> TransportError | None:
    """None for a 2xx; otherwise the typed error the status means."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    where = f"{response.request.method} {response.request.url.path}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return RetryableError(
            f"{where}: 429 rate limited",
            reason=Reason.RATE_LIMITED,
            retry_after=retry_after,
            maybe_processed=False,  # refused at the door: the venue did not act on it
            status=status,
            endpoint=endpoint,
        )
    if status == 408:
        return RetryableError(
            f"{where}: 408 request timeout",
            reason=Reason.TIMEOUT,
            retry_after=retry_after,
            maybe_processed=False,  # the server gave up waiting for our request
            status=status,
            endpoint=endpoint,
        )
    if status >= 500:
        return RetryableError(
            f"{where}: {status} server error",
            reason=Reason.SERVER_ERROR,
            retry_after=retry_after,
            maybe_processed=True,  # the venue may have acted before failing
            status=status,
            endpoint=endpoint,
        )
    if status in _FATAL_STATUSES:
        return FatalError(
            f"{where}: {status} refused", reason=Reason.AUTH, status=status, endpoint=endpoint
        )
    return NonRetryableError(
        f"{where}: {status} {response.text[:200]}",
        reason=Reason.CLIENT_ERROR,
        status=status,
        endpoint=endpoint,
    )


def classify_exception(exc: BaseException, *, endpoint: str | None = None) -> TransportError:
    """The typed error for an exception raised while sending a request.

    Only failures that happen before the request can have left this machine (no connection,
    no pooled slot) are marked `maybe_processed=False`; anything after — a read timeout, a
    reset mid-response — may have reached the venue.
    """
    if isinstance(exc, TransportError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return RetryableError(
            message, reason=Reason.TIMEOUT, maybe_processed=False, endpoint=endpoint
        )
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return RetryableError(
            message, reason=Reason.CONNECTION, maybe_processed=False, endpoint=endpoint
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return RetryableError(message, reason=Reason.TIMEOUT, endpoint=endpoint)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return NonRetryableError(message, reason=Reason.CLIENT_ERROR, endpoint=endpoint)
    if isinstance(exc, httpx.TransportError | OSError):
        return RetryableError(message, reason=Reason.CONNECTION, endpoint=endpoint)
    return NonRetryableError(message, reason=Reason.CLIENT_ERROR, endpoint=endpoint)
