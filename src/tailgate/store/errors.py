"""Typed store errors: callers branch on what went wrong, not on driver exception text."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DeferredNotWaitingError",
    "DuplicateOrderError",
    "DuplicateTradeError",
    "StoreError",
    "UnknownAccountError",
]


class StoreError(Exception):
    """Base class of the errors the store raises on purpose."""


class DuplicateTradeError(StoreError):
    """A leader trade, or one of its fills, was already recorded; nothing was written.

    `keys` holds the trade key and/or fill dedupe keys found already present.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys: tuple[str, ...] = tuple(sorted(keys))
        super().__init__(f"already recorded: {', '.join(self.keys)}")


class DuplicateOrderError(StoreError):
    """An order with this client order id exists: the id is deterministic, so it is a retry."""

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(f"an order with client_order_id {client_order_id!r} already exists")


class DeferredNotWaitingError(StoreError):
    """The deferred signal is already resolved (or does not exist): never resolve twice."""

    def __init__(self, deferred_id: int, status: str | None) -> None:
        self.deferred_id = deferred_id
        self.status = status
        state = "does not exist" if status is None else f"is {status!r}"
        super().__init__(f"deferred signal {deferred_id} {state}, not waiting")


class UnknownAccountError(StoreError, KeyError):
    """The account has no row; `Store.ensure_account` creates it."""

    def __init__(self, account: str) -> None:
        self.account = account
        super().__init__(f"unknown account {account!r}: call ensure_account first")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])
