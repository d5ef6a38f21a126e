"""Scoped mutexes and nonces (SPEC §E6): serial per signer, parallel across signers.

A venue orders one signer's actions by nonce, so that signer's orders must be signed and sent
one at a time; different signers are independent and must not wait for each other. Fund and
settlement moves are serialised the same way per proxy wallet (scope "wallet"). Locks are
made on demand and dropped when idle, so thousands of followers cost nothing at rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["NonceSource", "ScopedLocks"]


@dataclass(slots=True)
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holder plus waiters: the slot is dropped when this reaches 0


class ScopedLocks:
    """One asyncio lock per (scope, key), e.g. ("signer", address) or ("wallet", proxy).

    Counters: `acquired` holds granted, `contended` holds that had to wait for another.
    """

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], _Slot] = {}
        self.acquired = 0
        self.contended = 0

    def __len__(self) -> int:
        """Live (scope, key) locks: held or waited for."""
        return len(self._slots)

    def locked(self, scope: str, key: str) -> bool:
        slot = self._slots.get((scope, key))
        return slot is not None and slot.lock.locked()

    @asynccontextmanager
    async def hold(self, scope: str, key: str) -> AsyncIterator[None]:
        """Run the block alone among holders of (scope, key); released on error or cancel.

        Not re-entrant: holding (scope, key) and asking for it again waits forever.
        """
        name = (scope, key)
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = _Slot()
        slot.users += 1
        if slot.users > 1:  # someone holds it or is queued for it: we will wait
            self.contended += 1
        try:
            async with slot.lock:
                self.acquired += 1
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[name]


class NonceSource:
    """Strictly increasing nonces per signer, Hyperliquid style: `max(now_ms, last + 1)`.

    `next` never awaits, so concurrent tasks cannot interleave inside it. Take the nonce inside
    the signer's lock, so nonces also reach the venue in increasing order. `floors` (or
    `advance_past`) continue above nonces a previous process used, after a restart.
    Counters: `issued`, and `ahead_of_clock` — nonces that had to run ahead of the clock
    (over 1,000 actions a second for one signer, or the clock stepped back).
    """

    def __init__(self, now_ms: Callable[[], int], floors: Mapping[str, int] | None = None) -> None:
        self._now_ms = now_ms
        self._last: dict[str, int] = dict(floors or {})
        self.issued = 0
        self.ahead_of_clock = 0

    def next(self, signer: str) -> int:
        now = self._now_ms()
        last = self._last.get(signer)
        nonce = now if last is None or now > last else last + 1
        if nonce != now:
            self.ahead_of_clock += 1
        self._last[signer] = nonce
        self.issued += 1
        return nonce

    def snapshot(self) -> dict[str, int]:
        """Every signer's last nonce, to checkpoint (a restart's `floors`)."""
        return dict(self._last)

    def last(self, signer: str) -> int | None:
        """The highest nonce issued (or floored) for `signer`, for persisting."""
        return self._last.get(signer)

    def advance_past(self, signer: str, nonce: int) -> None:
        """Make every later nonce of `signer` greater than `nonce` (never lowers the floor)."""
        last = self._last.get(signer)
        if last is None or nonce > last:
            self._last[signer] = nonce
