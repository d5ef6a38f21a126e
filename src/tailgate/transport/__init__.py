"""Resilient transports shared by every venue (SPEC §R2).

Rate limits declared as data and enforced by one limiter (`limits`), typed errors (`errors`),
exponential backoff with jitter (`backoff`), a circuit breaker per endpoint (`breaker`), JSON
over HTTP with bounded, idempotency-aware retries (`http`), a WebSocket stream judged alive by
its data (`ws`) with a polling fallback (`fallback`), all observable (`metrics`).
"""

from tailgate.transport.backoff import Backoff
from tailgate.transport.breaker import BreakerPolicy, BreakerState, CircuitBreaker, Permit
from tailgate.transport.errors import (
    AmbiguousError,
    CircuitOpenError,
    FatalError,
    NonRetryableError,
    OverCapacityError,
    Reason,
    RetryableError,
    TransportError,
    classify_exception,
    classify_response,
    parse_retry_after,
)
from tailgate.transport.fallback import PollingFallback
from tailgate.transport.http import HttpTransport, RetryPolicy
from tailgate.transport.limits import (
    RateLimit,
    RequestWeights,
    VenueLimits,
    WeightedLimiter,
    WsBudget,
    WsClaim,
    WsLimits,
    hyperliquid_action_weight,
    hyperliquid_limits,
)
from tailgate.transport.metrics import TransportMetrics
from tailgate.transport.ws import (
    ResilientStream,
    StreamHealth,
    StreamPolicy,
    WireProtocol,
    hyperliquid_wire,
    stop_reading,
)

__all__ = [
    "AmbiguousError",
    "Backoff",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "FatalError",
    "HttpTransport",
    "NonRetryableError",
    "OverCapacityError",
    "Permit",
    "PollingFallback",
    "RateLimit",
    "Reason",
    "RequestWeights",
    "ResilientStream",
    "RetryPolicy",
    "RetryableError",
    "StreamHealth",
    "StreamPolicy",
    "TransportError",
    "TransportMetrics",
    "VenueLimits",
    "WeightedLimiter",
    "WireProtocol",
    "WsBudget",
    "WsClaim",
    "WsLimits",
    "classify_exception",
    "classify_response",
    "hyperliquid_action_weight",
    "hyperliquid_limits",
    "hyperliquid_wire",
    "parse_retry_after",
    "stop_reading",
]
