"""Fault injection for the loopback emulator: what a bad day at the venue looks like.

Every decision comes from one seeded generator, so a test run with the same seed and the same
sequence of requests sees the same faults. Rates are per request (HTTP) or per message (WS).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["FaultPlan", "Faults"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    http_429_rate: float = 0.0  # answered 429 with Retry-After
    http_5xx_rate: float = 0.0  # answered 502 / 503 (nothing done)
    http_timeout_rate: float = 0.0  # the request IS processed, the answer never comes in time
    delay_rate: float = 0.0  # answered late by up to max_delay_s
    max_delay_s: float = 0.2
    ws_drop_rate: float = 0.0  # the connection is closed instead of sending this message
    ws_duplicate_rate: float = 0.0  # the message is sent twice
    ws_reorder_rate: float = 0.0  # the message is held back and sent after the next one
    retry_after_s: float = 0.05
    hang_s: float = 30.0  # a "timeout" answers this late: after the client has given up
    # the venue down: within each [start_ms, end_ms) of world time every request answers 503
    # and every WebSocket connection is closed (breakers open, streams fall back)
    outages: tuple[tuple[int, int], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "http_429_rate",
            "http_5xx_rate",
            "http_timeout_rate",
            "delay_rate",
            "ws_drop_rate",
            "ws_duplicate_rate",
            "ws_reorder_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")
        for start, end in self.outages:
            if end <= start:
                raise ValueError(f"an outage must end after it starts, got {start}..{end}")

    @classmethod
    def uniform(cls, rate: float, seed: int = 0) -> FaultPlan:
        """`rate` of all requests and messages faulty, spread over every kind of fault."""
        share = rate / 3
        return cls(
            http_429_rate=share,
            http_5xx_rate=share,
            http_timeout_rate=share,
            delay_rate=rate,
            ws_drop_rate=rate / 10,  # a dropped connection costs a whole reconnect
            ws_duplicate_rate=rate / 2,
            ws_reorder_rate=rate / 2,
            seed=seed,
        )


class Faults:
    """The plan's decisions, drawn in order; counts what was injected."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self.injected: dict[str, int] = {}

    def _hit(self, kind: str, rate: float) -> bool:
        if rate <= 0.0 or self._rng.random() >= rate:
            return False
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return True

    def down(self, now_ms: int) -> bool:
        """Whether the venue is in one of the plan's outages at world time `now_ms`."""
        return any(start <= now_ms < end for start, end in self.plan.outages)

    def http(self, now_ms: int | None = None) -> str | None:
        """'outage', '429', '5xx', 'timeout' or None for a request about to be served."""
        p = self.plan
        if now_ms is not None and self.down(now_ms):
            self.injected["outage"] = self.injected.get("outage", 0) + 1
            return "outage"
        draw = self._rng.random()
        for kind, rate in (
            ("429", p.http_429_rate),
            ("5xx", p.http_5xx_rate),
            ("timeout", p.http_timeout_rate),
        ):
            if draw < rate:
                self.injected[kind] = self.injected.get(kind, 0) + 1
                return kind
            draw -= rate
        return None

    def delay_s(self) -> float:
        return (
            self._rng.uniform(0, self.plan.max_delay_s)
            if self._hit("delay", self.plan.delay_rate)
            else 0.0
        )

    def ws_drop(self) -> bool:
        return self._hit("ws_drop", self.plan.ws_drop_rate)

    def ws_duplicate(self) -> bool:
        return self._hit("ws_duplicate", self.plan.ws_duplicate_rate)

    def ws_reorder(self) -> bool:
        return self._hit("ws_reorder", self.plan.ws_reorder_rate)
