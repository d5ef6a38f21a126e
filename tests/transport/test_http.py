"""HTTP retries, backoff, idempotency and breakers against `httpx.MockTransport` (SPEC §R2, §E1).

Time never passes for real: sleeps are recorded by a fake, the breakers read a fake clock and
jitter is off, so every delay asserted here is exact.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tailgate.transport.backoff import Backoff
from tailgate.transport.breaker import BreakerPolicy, BreakerState
from tailgate.transport.errors import (
    AmbiguousError,
    CircuitOpenError,
    FatalError,
    NonRetryableError,
    OverCapacityError,
    Reason,
    RetryableError,
)
from tailgate.transport.http import HttpTransport, RetryPolicy
from tailgate.transport.limits import RateLimit, WeightedLimiter

Reply = httpx.Response | Exception


class FakeVenue:
    """Answers each request with the next scripted reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


class Harness:
    def __init__(self, venue: FakeVenue, **options: Any) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        options.setdefault(
            "retry", RetryPolicy(max_attempts=4, backoff=Backoff(0.25, 8.0, jitter=0.0))
        )
        self.http = HttpTransport(
            "https://venue.test",
            venue="hl",
            transport=httpx.MockTransport(venue),
            now=lambda: self.t,
            sleep=self._sleep,
            **options,
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def sample(self, name: str, **labels: str) -> float:
        value = self.http.metrics.registry.get_sample_value(name, {"venue": "hl", **labels})
        return value or 0.0

    def run(self, call: Callable[[HttpTransport], Any]) -> Any:
        async def scenario() -> Any:
            try:
                return await call(self.http)
            finally:
                await self.http.aclose()

        return asyncio.run(scenario())


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"status": "ok"})


def info(http: HttpTransport) -> Any:
    return http.post_json("/info", {"type": "allMids"}, endpoint="info", weight=2, idempotent=True)


def order(http: HttpTransport) -> Any:
    return http.post_json(
        "/exchange", {"action": {"type": "order"}}, endpoint="exchange", weight=1, idempotent=False
    )


def test_a_success_returns_the_decoded_json_and_sends_the_payload() -> None:
    venue = FakeVenue(ok({"ETH": "3000.5"}))
    harness = Harness(venue)
    assert harness.run(info) == {"ETH": "3000.5"}
    assert json.loads(venue.requests[0].content) == {"type": "allMids"}
    assert venue.requests[0].url == "https://venue.test/info"
    assert harness.sample("tailgate_transport_requests_total", endpoint="info", outcome="ok") == 1


def test_paths_join_a_base_url_with_a_path_of_its_own_every_time() -> None:
    """Joined paths are kept (a hot path); a base with a prefix, an absolute URL and a
    repeated request still go where they went."""
    venue = FakeVenue(ok())

    async def calls(http: HttpTransport) -> None:
        for _ in range(2):
            await http.post_json("/info", {}, endpoint="info", weight=1, idempotent=True)
        await http.post_json(
            "https://stats.test/board", {}, endpoint="b", weight=1, idempotent=True
        )
        await http.get_json("/info", params={"a": "1"}, endpoint="info", weight=1)

    Harness(venue).run(calls)  # (the harness's base has no prefix: this one does)
    venue2 = FakeVenue(ok())
    prefixed = HttpTransport(
        "https://venue.test/api/v2", venue="hl", transport=httpx.MockTransport(venue2)
    )

    async def prefixed_calls() -> None:
        for _ in range(2):
            await prefixed.post_json("/info", {}, endpoint="info", weight=1, idempotent=True)
        await prefixed.aclose()

    asyncio.run(prefixed_calls())
    assert [str(r.url) for r in venue.requests] == [
        "https://venue.test/info",
        "https://venue.test/info",
        "https://stats.test/board",
        "https://venue.test/info?a=1",
    ]
    assert [str(r.url) for r in venue2.requests] == ["https://venue.test/api/v2/info"] * 2


def test_429_waits_the_venues_retry_after_then_succeeds() -> None:
    venue = FakeVenue(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    harness = Harness(venue)
    harness.run(info)
    assert harness.sleeps == [3.0]  # max(backoff 0.25, Retry-After 3)
    assert len(venue.requests) == 2
    retries = harness.sample(
        "tailgate_transport_retries_total", endpoint="info", reason=Reason.RATE_LIMITED
    )
    assert retries == 1


def test_5xx_is_retried_with_exponential_backoff_until_it_succeeds() -> None:
    venue = FakeVenue(httpx.Response(502), httpx.Response(503), ok())
    harness = Harness(venue)
    assert harness.run(info) == {"status": "ok"}
    assert harness.sleeps == [0.25, 0.5]
    retries = harness.sample(
        "tailgate_transport_retries_total", endpoint="info", reason=Reason.SERVER_ERROR
    )
    assert retries == 2


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    venue = FakeVenue(httpx.ReadTimeout("slow"))
    harness = Harness(venue, breaker=BreakerPolicy(failure_threshold=10))
    with pytest.raises(RetryableError) as failed:
        harness.run(info)
    assert failed.value.reason == Reason.TIMEOUT
    assert len(venue.requests) == 4
    assert harness.sleeps == [0.25, 0.5, 1.0]
    outcome = harness.sample(
        "tailgate_transport_requests_total", endpoint="info", outcome="retryable"
    )
    assert outcome == 1


def test_a_retry_after_longer_than_the_policy_allows_is_left_to_the_caller() -> None:
    venue = FakeVenue(httpx.Response(429, headers={"Retry-After": "600"}), ok())
    harness = Harness(venue)
    with pytest.raises(RetryableError) as failed:
        harness.run(info)
    assert failed.value.retry_after == 600.0
    assert len(venue.requests) == 1


def test_400_is_not_retried() -> None:
    venue = FakeVenue(httpx.Response(400, text="bad coin"), ok())
    harness = Harness(venue)
    with pytest.raises(NonRetryableError):
        harness.run(info)
    assert len(venue.requests) == 1
    assert harness.sleeps == []


def test_refused_credentials_are_fatal_and_not_retried() -> None:
    venue = FakeVenue(httpx.Response(401), ok())
    harness = Harness(venue)
    with pytest.raises(FatalError):
        harness.run(order)
    assert len(venue.requests) == 1


def test_an_order_whose_answer_timed_out_is_ambiguous_and_never_resent() -> None:
    venue = FakeVenue(httpx.ReadTimeout("no answer"), ok())
    harness = Harness(venue)
    with pytest.raises(AmbiguousError) as unknown:
        harness.run(order)
    assert len(venue.requests) == 1
    assert unknown.value.cause.reason == Reason.TIMEOUT
    outcome = harness.sample(
        "tailgate_transport_requests_total", endpoint="exchange", outcome="ambiguous"
    )
    assert outcome == 1


def test_an_order_answered_with_a_5xx_is_ambiguous() -> None:
    venue = FakeVenue(httpx.Response(502), ok())
    harness = Harness(venue)
    with pytest.raises(AmbiguousError):
        harness.run(order)
    assert len(venue.requests) == 1


def test_an_order_answered_with_garbage_is_ambiguous() -> None:
    venue = FakeVenue(httpx.Response(200, text="<html>gateway</html>"), ok())
    harness = Harness(venue)
    with pytest.raises(AmbiguousError) as unknown:
        harness.run(order)
    assert unknown.value.cause.reason == Reason.MALFORMED


def test_an_order_that_never_left_or_was_rate_limited_is_retried() -> None:
    venue = FakeVenue(
        httpx.ConnectError("refused"), httpx.Response(429, headers={"Retry-After": "1"}), ok()
    )
    harness = Harness(venue)
    assert harness.run(order) == {"status": "ok"}
    assert len(venue.requests) == 3
    assert harness.sleeps == [0.25, 1.0]


def test_each_attempt_takes_its_weight_from_the_pool() -> None:
    venue = FakeVenue(httpx.Response(500), ok())
    limiter = WeightedLimiter(RateLimit("hl_rest", 100, 60.0))
    harness = Harness(venue, limiter=limiter)

    async def call(http: HttpTransport) -> None:
        await http.post_json("/info", {}, endpoint="info", weight=20, idempotent=True)
        assert limiter.has_capacity(60)
        assert not limiter.has_capacity(61)

    harness.run(call)


def test_weight_charged_for_items_returned_is_accounted_after_the_answer() -> None:
    fills = [{"tid": i} for i in range(400)]
    venue = FakeVenue(ok(fills))
    limiter = WeightedLimiter(RateLimit("hl_rest", 100, 60.0))
    harness = Harness(venue, limiter=limiter)

    async def call(http: HttpTransport) -> None:
        body = await http.post_json(
            "/info",
            {"type": "userFills"},
            endpoint="info",
            weight=20,
            idempotent=True,
            items_weight=lambda rows: len(rows) // 20,
        )
        assert len(body) == 400
        assert limiter.has_capacity(60)  # 20 before + 20 for 400 items
        assert not limiter.has_capacity(61)

    harness.run(call)


def test_a_request_heavier_than_the_pool_is_refused_without_sending() -> None:
    venue = FakeVenue(ok())
    harness = Harness(venue, limiter=WeightedLimiter(RateLimit("hl_rest", 10, 60.0)))

    async def call(http: HttpTransport) -> None:
        await http.post_json("/info", {}, endpoint="info", weight=11, idempotent=True)

    with pytest.raises(OverCapacityError):
        harness.run(call)
    assert venue.requests == []
    assert harness.http.breaker("info").state is BreakerState.CLOSED


def test_the_breaker_opens_after_repeated_failures_and_a_half_open_probe_closes_it() -> None:
    venue = FakeVenue(httpx.Response(503), httpx.Response(503), httpx.Response(503), ok())
    harness = Harness(
        venue,
        retry=RetryPolicy(max_attempts=5, backoff=Backoff(0.25, 8.0, jitter=0.0)),
        breaker=BreakerPolicy(failure_threshold=3, cooldown_s=30.0),
    )

    async def call(http: HttpTransport) -> None:
        with pytest.raises(RetryableError) as failed:
            await info(http)
        # The third failure opened the breaker: no pointless wait to be refused.
        assert failed.value.reason == Reason.SERVER_ERROR
        assert http.breaker("info").state is BreakerState.OPEN
        assert len(venue.requests) == 3
        assert harness.sample("tailgate_transport_breaker_state", endpoint="info") == 2

        harness.t += 10.0
        with pytest.raises(CircuitOpenError) as refused:
            await info(http)
        assert refused.value.retry_after == pytest.approx(20.0)
        assert len(venue.requests) == 3  # failed fast: nothing sent

        harness.t += 20.0
        assert await info(http) == {"status": "ok"}  # the half-open probe
        assert http.breaker("info").state is BreakerState.CLOSED
        assert harness.sample("tailgate_transport_breaker_state", endpoint="info") == 0
        # Other endpoints were never affected.
        assert http.breaker("exchange").state is BreakerState.CLOSED

    harness.run(call)
    transitions = [
        harness.sample("tailgate_transport_breaker_transitions_total", endpoint="info", state=s)
        for s in ("open", "half_open", "closed")
    ]
    assert transitions == [1, 1, 1]
    refused = harness.sample(
        "tailgate_transport_requests_total", endpoint="info", outcome="circuit_open"
    )
    assert refused == 1


def test_a_failed_probe_reopens_the_breaker() -> None:
    venue = FakeVenue(httpx.Response(500))
    harness = Harness(
        venue,
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(failure_threshold=2, cooldown_s=5.0),
    )

    async def call(http: HttpTransport) -> None:
        for _ in range(2):
            with pytest.raises(RetryableError):
                await info(http)
        harness.t += 5.0
        with pytest.raises(RetryableError) as failed:
            await info(http)
        assert not isinstance(failed.value, CircuitOpenError)  # the probe was sent
        assert http.breaker("info").state is BreakerState.OPEN
        assert len(venue.requests) == 3

    harness.run(call)


def test_rate_limiting_and_client_errors_do_not_count_against_the_endpoints_health() -> None:
    venue = FakeVenue(httpx.Response(429), httpx.Response(400), httpx.Response(429))
    harness = Harness(
        venue, retry=RetryPolicy(max_attempts=1), breaker=BreakerPolicy(failure_threshold=1)
    )

    async def call(http: HttpTransport) -> None:
        for _ in range(3):
            with pytest.raises((RetryableError, NonRetryableError)):
                await info(http)
        assert http.breaker("info").state is BreakerState.CLOSED

    harness.run(call)


def test_get_is_always_retried() -> None:
    venue = FakeVenue(httpx.ReadTimeout("slow"), ok({"markets": []}))
    harness = Harness(venue)

    async def call(http: HttpTransport) -> Any:
        return await http.get_json("/markets", params={"limit": 5}, endpoint="markets", weight=1)

    assert harness.run(call) == {"markets": []}
    assert venue.requests[-1].url.params["limit"] == "5"


def test_retries_and_breaker_changes_are_logged(transport_log: io.StringIO) -> None:
    venue = FakeVenue(httpx.Response(503))
    harness = Harness(
        venue, retry=RetryPolicy(max_attempts=2, backoff=Backoff(0.25, 8.0, jitter=0.0))
    )
    with pytest.raises(RetryableError):
        harness.run(info)
    events = [json.loads(line) for line in transport_log.getvalue().splitlines()]
    retry = next(e for e in events if e["event"] == "transport.retry")
    assert (retry["endpoint"], retry["reason"], retry["delay_s"]) == ("info", "server_error", 0.25)
    failed = next(e for e in events if e["event"] == "transport.request_failed")
    assert (failed["error_type"], failed["status"]) == ("RetryableError", 503)
