"""The order state machine (SPEC §E1): every state change of an order goes through `advance`.

PENDING is written before anything is sent. SUBMITTED is written before the venue call (and
is where a resting stop stays). An ambiguous submit (timeout, transport error, 5xx) is UNKNOWN
— never FAILED, never sent again — and is settled by asking the venue by client order id.
FILLED, PARTIAL (an IOC's remainder cancelled), REJECTED (a definitive venue answer), FAILED
(refused before sending), SKIPPED (a guardrail said no) and EXPIRED (never sent and stale, a
cancelled stop, an IOC that crossed nothing, or unknown to the venue) are final: no path leads
out of them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TRANSITIONS", "IllegalTransition", "OrderState", "advance"]


class OrderState(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    FILLED = "filled"
    PARTIAL = "partial"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return not TRANSITIONS[self]


_SETTLED = frozenset(
    {OrderState.FILLED, OrderState.PARTIAL, OrderState.REJECTED, OrderState.EXPIRED}
)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    # not sent yet: send it, or stop it before it goes out
    OrderState.PENDING: frozenset(
        {OrderState.SUBMITTED, OrderState.SKIPPED, OrderState.FAILED, OrderState.EXPIRED}
    ),
    # sent: the venue answers (a stop rests: SUBMITTED again), or the answer is lost
    OrderState.SUBMITTED: _SETTLED | {OrderState.SUBMITTED, OrderState.UNKNOWN},
    # lost answer: only the venue's record of the order settles it (resting: SUBMITTED)
    OrderState.UNKNOWN: _SETTLED | {OrderState.SUBMITTED, OrderState.UNKNOWN},
    OrderState.FILLED: frozenset(),
    OrderState.PARTIAL: frozenset(),
    OrderState.REJECTED: frozenset(),
    OrderState.FAILED: frozenset(),
    OrderState.SKIPPED: frozenset(),
    OrderState.EXPIRED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A state change the machine forbids: a bug, never a venue's doing."""


def advance(current: OrderState, new: OrderState) -> OrderState:
    """`new`, if the machine allows `current → new`; raises IllegalTransition otherwise."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"order state {current.value} → {new.value} is not allowed")
    return new
