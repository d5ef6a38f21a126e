"""Resilient JSON over HTTP: breaker → limiter → request → classify → retry.

Every attempt first asks the endpoint's circuit breaker (an open breaker fails fast and spends
no rate-limit weight), then takes its weight from the venue's pool, sends, and classifies the
outcome into a typed error. Retryable failures are retried by `tenacity` with exponential
backoff and jitter, never sooner than the venue's `Retry-After`, for a bounded number of
attempts; non-retryable and fatal errors are raised at once.

`idempotent` is required on every call, because retrying is only safe when sending twice
does no harm. A non-idempotent request (a signed order) is retried only when the failure
proves the venue did not act on it (no connection, 429); any other failure after sending
raises `AmbiguousError`, which the execution layer turns into an UNKNOWN intent (SPEC §E1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from tailgate.logs import get_logger
from tailgate.transport.backoff import Backoff
from tailgate.transport.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from tailgate.transport.errors import (
    AmbiguousError,
    CircuitOpenError,
    FatalError,
    OverCapacityError,
    Reason,
    RetryableError,
    TransportError,
    classify_exception,
    classify_response,
)
from tailgate.transport.limits import WeightedLimiter
from tailgate.transport.metrics import BREAKER_STATE_VALUE, TransportMetrics

__all__ = ["HttpTransport", "RetryPolicy"]

log = get_logger("tailgate.transport.http")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4  # first try included
    backoff: Backoff = field(default_factory=Backoff)
    max_retry_after_s: float = 60.0  # a venue asking for longer: give up, let the caller decide

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a retry policy needs max_attempts >= 1")


MAX_JOINED_URLS = 64  # a venue's endpoints are few; paths built per request are not kept


class HttpTransport:
    """One venue's HTTP client: a connection pool, its breakers, its limiter, its metrics."""

    def __init__(
        self,
        base_url: str,
        *,
        venue: str,
        limiter: WeightedLimiter | None = None,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        metrics: TransportMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.metrics = metrics or TransportMetrics()
        self._breaker_policy = breaker or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._now = now
        self._sleep = sleep
        self._urls: dict[str, httpx.URL] = {}
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            headers=dict(headers or {}),
            transport=transport,
        )

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def breaker(self, endpoint: str) -> CircuitBreaker:
        """The endpoint's breaker, created closed on first use."""
        found = self._breakers.get(endpoint)
        if found is None:
            found = CircuitBreaker(
                endpoint, self._breaker_policy, now=self._now, on_change=self._breaker_changed
            )
            self._breakers[endpoint] = found
            self.metrics.breaker_state.labels(self.venue, endpoint).set(
                BREAKER_STATE_VALUE[BreakerState.CLOSED]
            )
        return found

    def _url(self, path: str) -> httpx.URL:
        """`path` against the base URL, joined once: httpx joins a relative path on every
        request, which costs more than the rest of building it (~50 µs on the copy path)."""
        url = self._urls.get(path)
        if url is None:
            url = self._client.build_request("GET", path).url
            if len(self._urls) < MAX_JOINED_URLS:
                self._urls[path] = url
        return url

    async def post_json(
        self,
        path: str,
        payload: Any,
        *,
        endpoint: str,
        weight: int,
        idempotent: bool,
        items_weight: Callable[[Any], int] | None = None,
    ) -> Any:
        """POST `payload` as JSON and return the decoded JSON answer.

        `endpoint` names the breaker (e.g. "info", "exchange"); `weight` is taken from the
        limiter before each attempt; `items_weight(body)` returns weight the venue charges for
        what it returned, accounted after the answer.
        """
        return await self.request_json(
            "POST",
            path,
            json=payload,
            endpoint=endpoint,
            weight=weight,
            idempotent=idempotent,
            items_weight=items_weight,
        )

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        endpoint: str,
        weight: int,
        items_weight: Callable[[Any], int] | None = None,
    ) -> Any:
        """GET is idempotent by definition, so it is always retried."""
        return await self.request_json(
            "GET",
            path,
            params=params,
            endpoint=endpoint,
            weight=weight,
            idempotent=True,
            items_weight=items_weight,
        )

    async def get_streamed(
        self,
        url: str,
        *,
        endpoint: str,
        weight: int,
        read: Callable[[httpx.Response], Awaitable[Any]],
        timeout_s: float | None = None,
    ) -> Any:
        """GET a large answer and consume it as it arrives (`read` gets the open response,
        e.g. to iterate `response.aiter_bytes()`); the whole read is retried like any
        idempotent request. `url` may be absolute (another host of the venue)."""
        return await self.request_json(
            "GET",
            url,
            endpoint=endpoint,
            weight=weight,
            idempotent=True,
            read=read,
            timeout_s=timeout_s,
        )

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        weight: int,
        idempotent: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        items_weight: Callable[[Any], int] | None = None,
        read: Callable[[httpx.Response], Awaitable[Any]] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            before_sleep=self._count_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            body = await retrying(
                self._attempt,
                method,
                path,
                endpoint,
                weight,
                idempotent,
                json,
                params,
                read or _read_json,
                timeout_s,
            )
        except TransportError as error:
            self.metrics.requests.labels(self.venue, endpoint, _outcome(error)).inc()
            log.warning(
                "transport.request_failed",
                venue=self.venue,
                endpoint=endpoint,
                path=path,
                error_type=type(error).__name__,
                reason=error.reason,
                status=error.status,
                error=str(error),
            )
            raise
        self.metrics.requests.labels(self.venue, endpoint, "ok").inc()
        if items_weight is not None and self.limiter is not None:
            extra = items_weight(body)
            if extra > 0:
                await self.limiter.charge(extra)
        return body

    async def _attempt(
        self,
        method: str,
        path: str,
        endpoint: str,
        weight: int,
        idempotent: bool,
        json: Any,
        params: Mapping[str, Any] | None,
        read: Callable[[httpx.Response], Awaitable[Any]],
        timeout_s: float | None,
    ) -> Any:
        breaker = self.breaker(endpoint)
        permit = breaker.allow()
        settled = False
        response: httpx.Response | None = None
        try:
            if self.limiter is not None and weight > 0:
                await self.limiter.acquire(weight)
            request = self._client.build_request(
                method,
                self._url(path),
                json=json,
                params=params,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s,
            )
            try:
                response = await self._client.send(request, stream=True)
                if not 200 <= response.status_code < 300:
                    await response.aread()  # small, and its text is part of the error
                error = classify_response(response, endpoint=endpoint)
                body = None if error is not None else await read(response)
            except (httpx.HTTPError, OSError) as exc:  # no answer, or it broke off mid-way
                error = classify_exception(exc, endpoint=endpoint)
                if isinstance(error, RetryableError):
                    breaker.record_failure(permit)
                    settled = True
                raise self._unless_ambiguous(error, idempotent) from exc
            except ValueError as exc:  # JSON that does not decode, or a reader's refusal
                error = RetryableError(
                    f"{method} {path}: unreadable answer: {exc}"[:300],
                    reason=Reason.MALFORMED,
                    status=response.status_code,
                    endpoint=endpoint,
                )
            else:
                if error is None:
                    breaker.record_success(permit)
                    settled = True
                    return body
            # The endpoint answered: only a server-side failure counts against its health.
            if isinstance(error, RetryableError) and error.reason != Reason.RATE_LIMITED:
                breaker.record_failure(permit)
            else:
                breaker.record_success(permit)
            settled = True
            raise self._unless_ambiguous(error, idempotent)
        finally:
            if not settled:
                breaker.release(permit)
            if response is not None:
                await response.aclose()

    @staticmethod
    def _unless_ambiguous(error: TransportError, idempotent: bool) -> TransportError:
        if not idempotent and isinstance(error, RetryableError) and error.maybe_processed:
            return AmbiguousError(error)
        return error

    def _should_retry(self, error: BaseException) -> bool:
        if not isinstance(error, RetryableError) or isinstance(error, CircuitOpenError):
            return False
        if error.endpoint is not None and self.breaker(error.endpoint).state is BreakerState.OPEN:
            return False  # this failure opened the breaker: waiting to be refused is pointless
        return error.retry_after is None or error.retry_after <= self.retry.max_retry_after_s

    def _wait(self, state: RetryCallState) -> float:
        delay = self.retry.backoff.delay(state.attempt_number)
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay

    def _count_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        reason = error.reason if isinstance(error, TransportError) else "unknown"
        endpoint = error.endpoint if isinstance(error, TransportError) else None
        self.metrics.retries.labels(self.venue, endpoint or "", reason).inc()
        log.info(
            "transport.retry",
            venue=self.venue,
            endpoint=endpoint,
            attempt=state.attempt_number,
            reason=reason,
            delay_s=round(state.upcoming_sleep, 3),
        )

    def _breaker_changed(self, endpoint: str, state: BreakerState) -> None:
        self.metrics.breaker_state.labels(self.venue, endpoint).set(BREAKER_STATE_VALUE[state])
        self.metrics.breaker_transitions.labels(self.venue, endpoint, state.value).inc()
        log.warning("transport.breaker", venue=self.venue, endpoint=endpoint, state=state.value)


async def _read_json(response: httpx.Response) -> Any:
    """The default reader: the whole body, decoded (ValueError when it is not JSON)."""
    await response.aread()
    return response.json()


def _outcome(error: TransportError) -> str:
    """The request metric's outcome label for a final error."""
    if isinstance(error, AmbiguousError):
        return "ambiguous"
    if isinstance(error, CircuitOpenError):
        return "circuit_open"
    if isinstance(error, RetryableError):
        return "retryable"
    if isinstance(error, FatalError):
        return "fatal"
    if isinstance(error, OverCapacityError):
        return "over_capacity"
    return "non_retryable"
