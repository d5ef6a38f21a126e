"""Prometheus metrics of the transports: requests, retries, breakers, limiter waits, streams.

Every metric lives in the `CollectorRegistry` it is given. The composition root passes the
process registry it exposes; a transport built without one gets a private registry, so tests
and parallel engines never collide on global registration. Metrics register once per
registry: build one `TransportMetrics` per registry and hand the same instance to every
transport and stream that reports there.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["BREAKER_STATE_VALUE", "STREAM_HEALTH_VALUE", "TransportMetrics"]

# Gauges hold numbers: these say which number means which state (alert on breaker == 2).
BREAKER_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}
STREAM_HEALTH_VALUE = {"down": 0, "degraded": 1, "healthy": 2}


class TransportMetrics:
    """One set of transport metrics, registered in `registry` (a fresh one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tailgate_transport_requests",
            "HTTP requests by final outcome (ok, retryable, non_retryable, fatal, ambiguous…).",
            ["venue", "endpoint", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "tailgate_transport_retries",
            "HTTP retries, by the reason of the failure that was retried.",
            ["venue", "endpoint", "reason"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "tailgate_transport_breaker_state",
            "Circuit breaker state per endpoint: 0 closed, 1 half-open, 2 open.",
            ["venue", "endpoint"],
            registry=r,
        )
        self.breaker_transitions = Counter(
            "tailgate_transport_breaker_transitions",
            "Circuit breaker transitions, by the state entered.",
            ["venue", "endpoint", "state"],
            registry=r,
        )
        self.limiter_waits = Counter(
            "tailgate_transport_limiter_waits",
            "Requests that had to wait for rate-limit budget.",
            ["pool"],
            registry=r,
        )
        self.limiter_wait_seconds = Counter(
            "tailgate_transport_limiter_wait_seconds",
            "Time spent waiting for rate-limit budget.",
            ["pool"],
            registry=r,
        )
        self.ws_reconnects = Counter(
            "tailgate_transport_ws_reconnects",
            "WebSocket reconnections after a lost or dead connection.",
            ["stream"],
            registry=r,
        )
        self.stream_health = Gauge(
            "tailgate_transport_stream_health",
            "Stream health: 0 down, 1 degraded (open but no fresh data), 2 healthy.",
            ["stream"],
            registry=r,
        )
        self.stream_polling = Gauge(
            "tailgate_transport_stream_polling",
            "1 while a stream's consumer has fallen back to polling.",
            ["stream"],
            registry=r,
        )
