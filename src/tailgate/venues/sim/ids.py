"""Deterministic identifiers and per-key pseudo-randomness.

Anything the simulator decides *lazily* (when a payload is served rather than when the world is
built) must not depend on the order of calls, or two runs that query differently would see
different worlds. So lazy decisions hash a stable key (seed, leader, fill id…) instead of drawing
from a shared generator.
"""

from __future__ import annotations

import hashlib

__all__ = ["address_of", "mix64", "tx_hash", "unit_interval"]

_MASK = (1 << 64) - 1


def mix64(*parts: int) -> int:
    """SplitMix64 finaliser folded over `parts`: a well-spread 64-bit hash of small integers."""
    x = 0x243F6A8885A308D3
    for part in parts:
        x = ((x ^ (part & _MASK)) + 0x9E3779B97F4A7C15) & _MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
        x ^= x >> 31
    return x


def unit_interval(*parts: int) -> float:
    """A uniform number in [0, 1) determined by `parts`."""
    return (mix64(*parts) >> 11) * (1.0 / (1 << 53))


def address_of(seed: int, index: int) -> str:
    """A leader's wallet address: 0x + 40 hex digits, stable for (seed, index)."""
    return "0x" + hashlib.blake2b(f"leader:{seed}:{index}".encode(), digest_size=20).hexdigest()


def tx_hash(seed: int, order_id: int) -> str:
    """The transaction hash of one order (its fills share it, as on Hyperliquid)."""
    return "0x" + hashlib.blake2b(f"tx:{seed}:{order_id}".encode(), digest_size=32).hexdigest()
