"""Position arithmetic for perpetuals: average entry, realised and unrealised PnL."""

from __future__ import annotations

from tailgate.domain.models import Side

__all__ = ["average_entry", "pnl"]


def average_entry(size: float, entry: float, add_size: float, add_price: float) -> float:
    """Size-weighted entry after adding `add_size` at `add_price` to a position."""
    total = size + add_size
    if total <= 0:
        raise ValueError("a position cannot have a non-positive size")
    return (size * entry + add_size * add_price) / total


def pnl(side: Side, entry: float, price: float, size: float) -> float:
    """PnL of `size` coins of a `side` position entered at `entry`, valued at `price`."""
    return (price - entry) * size * side.sign
