"""The classifier: every HTTP outcome becomes a typed error the caller can act on (SPEC §R2)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tailgate.transport.errors import (
    AmbiguousError,
    FatalError,
    NonRetryableError,
    Reason,
    RetryableError,
    classify_exception,
    classify_response,
    parse_retry_after,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers=headers, request=httpx.Request("POST", "https://venue.test/info")
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("-5", 0.0),
        ("Sat, 01 Mar 2025 12:00:10 GMT", 10.0),
        ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_2xx_is_not_an_error() -> None:
    assert classify_response(response(200)) is None
    assert classify_response(response(204)) is None


def test_429_is_retryable_after_the_venues_delay_and_was_not_processed() -> None:
    error = classify_response(response(429, **{"Retry-After": "2"}), endpoint="info")
    assert isinstance(error, RetryableError)
    assert (error.reason, error.retry_after, error.status) == (Reason.RATE_LIMITED, 2.0, 429)
    assert error.maybe_processed is False
    assert error.endpoint == "info"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retryable_but_may_have_been_processed(status: int) -> None:
    error = classify_response(response(status))
    assert isinstance(error, RetryableError)
    assert error.reason == Reason.SERVER_ERROR
    assert error.maybe_processed is True


def test_503_retry_after_is_honoured_too() -> None:
    error = classify_response(response(503, **{"Retry-After": "4"}))
    assert isinstance(error, RetryableError)
    assert error.retry_after == 4.0


def test_408_is_retryable_and_was_not_processed() -> None:
    error = classify_response(response(408))
    assert isinstance(error, RetryableError)
    assert error.maybe_processed is False


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_4xx_are_not_retryable(status: int) -> None:
    error = classify_response(response(status))
    assert type(error) is NonRetryableError
    assert error.reason == Reason.CLIENT_ERROR


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_fatal(status: int) -> None:
    error = classify_response(response(status))
    assert isinstance(error, FatalError)
    assert error.reason == Reason.AUTH


REQUEST = httpx.Request("POST", "https://venue.test/exchange")


@pytest.mark.parametrize(
    ("exc", "reason", "maybe_processed"),
    [
        (httpx.ConnectError("refused", request=REQUEST), Reason.CONNECTION, False),
        (httpx.ConnectTimeout("slow connect", request=REQUEST), Reason.TIMEOUT, False),
        (httpx.PoolTimeout("no slot", request=REQUEST), Reason.TIMEOUT, False),
        (httpx.ReadTimeout("slow answer", request=REQUEST), Reason.TIMEOUT, True),
        (httpx.WriteTimeout("slow send", request=REQUEST), Reason.TIMEOUT, True),
        (httpx.ReadError("reset", request=REQUEST), Reason.CONNECTION, True),
        (httpx.RemoteProtocolError("hung up", request=REQUEST), Reason.CONNECTION, True),
        (TimeoutError(), Reason.TIMEOUT, True),
        (ConnectionResetError(), Reason.CONNECTION, True),
    ],
)
def test_network_failures_are_retryable_and_say_whether_the_venue_may_have_acted(
    exc: Exception, reason: str, maybe_processed: bool
) -> None:
    error = classify_exception(exc, endpoint="exchange")
    assert isinstance(error, RetryableError)
    assert (error.reason, error.maybe_processed, error.endpoint) == (
        reason,
        maybe_processed,
        "exchange",
    )


def test_a_local_protocol_error_is_our_bug_and_not_retried() -> None:
    error = classify_exception(httpx.LocalProtocolError("bad header"))
    assert type(error) is NonRetryableError


def test_an_ambiguous_error_can_never_be_caught_as_retryable() -> None:
    cause = RetryableError("read timeout", reason=Reason.TIMEOUT)
    error = AmbiguousError(cause)
    assert not isinstance(error, RetryableError)
    assert error.cause is cause
    assert error.reason == Reason.TIMEOUT
