"""Our book: open positions and cash, valued at marks (the paper account's truth is the store)."""

from __future__ import annotations

from collections.abc import Mapping

from tailgate.domain.models import PortfolioView
from tailgate.domain.positions import pnl
from tailgate.store.records import PositionRecord, PositionStatus

__all__ = ["Portfolio"]


class Portfolio:
    def __init__(self, account: str, cash: float, positions: list[PositionRecord]) -> None:
        self.account = account
        self.cash = cash
        self._open: dict[int, PositionRecord] = {
            p.id: p for p in positions if p.status is PositionStatus.OPEN and p.id is not None
        }

    @property
    def open_positions(self) -> list[PositionRecord]:
        return list(self._open.values())

    def get(self, position_id: int) -> PositionRecord | None:
        """The open position with this id, or None."""
        return self._open.get(position_id)

    def position_for(self, coin: str) -> PositionRecord | None:
        for p in self._open.values():
            if p.coin == coin:
                return p
        return None

    def apply(self, position: PositionRecord, cash_delta: float) -> None:
        """Take in a position the store has just persisted, with the cash it moved."""
        self.cash += cash_delta
        assert position.id is not None
        if position.status is PositionStatus.OPEN:
            self._open[position.id] = position
        else:
            self._open.pop(position.id, None)

    def unrealized(self, marks: Mapping[str, float]) -> float:
        return sum(
            pnl(p.side, p.entry_price, marks.get(p.coin, p.entry_price), p.size)
            for p in self._open.values()
        )

    def equity(self, marks: Mapping[str, float]) -> float:
        return self.cash + self.unrealized(marks)

    def view(self, marks: Mapping[str, float]) -> PortfolioView:
        by_coin: dict[str, float] = {}
        holders: dict[str, str] = {}
        for p in self._open.values():
            notional = p.size * marks.get(p.coin, p.entry_price)
            by_coin[p.coin] = by_coin.get(p.coin, 0.0) + notional
            if p.leader:
                holders[p.coin] = p.leader
        return PortfolioView(
            account_value=self.equity(marks),
            open_positions=len(self._open),
            total_exposure_usd=sum(by_coin.values()),
            exposure_by_coin=by_coin,
            open_coins=frozenset(by_coin),
            holders=holders,
        )
