"""What a replay runs on: imported leader fills and price bars, and the span they cover.

The coins of the replay are the coins that have bars. Fills in other coins are kept: the
engine sees them as a live feed would show them and rejects them itself (UNKNOWN_COIN).

Fill times in the Hyperliquid CSV export are floored to the minute (`ImportReport.
time_resolution_ms`): a fill stamped t happened somewhere in [t, t + 1 min). The venue reveals
a fill only once it has certainly happened — at t + `fill_delay_ms` — so the replay never acts
on a trade before it took place. The engine polls the last hour, so a fill revealed late is
still picked up.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tailgate.backtest.data import Bars, ImportReport, load_fills, load_price_dir
from tailgate.domain.models import LeaderFill

__all__ = ["ReplayData", "knowledge_delay_ms"]


def knowledge_delay_ms(time_resolution_ms: int) -> int:
    """How long after its stamp a fill is certainly known: a whole period for coarse stamps
    (minute-floored times), none for millisecond times."""
    return time_resolution_ms if time_resolution_ms > 1 else 0


@dataclass(frozen=True, slots=True)
class ReplayData:
    """Leader fills (oldest first, every leader) and bars per coin."""

    fills: Sequence[LeaderFill]
    bars: Mapping[str, Bars]
    fill_delay_ms: int = 0  # a fill stamped t is revealed at t + fill_delay_ms
    leaders: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        ordered = sorted(self.fills, key=lambda f: f.time_ms)  # stable: file order within a time
        object.__setattr__(self, "fills", tuple(ordered))
        if not self.leaders:
            object.__setattr__(self, "leaders", tuple(sorted({f.leader for f in ordered})))

    @property
    def coins(self) -> tuple[str, ...]:
        """The coins that can be traded: those with bars."""
        return tuple(sorted(self.bars))

    def span_ms(self) -> tuple[int, int]:
        """(first bar open, last bar close) over every coin: the range a replay clock can use."""
        if not self.bars:
            raise ValueError("no bars: a replay needs prices")
        return (
            min(b.start_ms for b in self.bars.values()),
            max(b.end_ms for b in self.bars.values()),
        )

    @classmethod
    def load(
        cls,
        fills_path: Path | str,
        prices_dir: Path | str,
        *,
        known_coins: Collection[str] | None = None,
    ) -> tuple[ReplayData, list[ImportReport]]:
        """Import fills (any leader; `known_coins` drops fills of other coins at import) and
        every price file of `prices_dir`; the reports come fills first, then prices."""
        fills, fills_report = load_fills(fills_path, known_coins=known_coins)
        bars, price_reports = load_price_dir(prices_dir)
        data = cls(
            fills=fills,
            bars=bars,
            fill_delay_ms=knowledge_delay_ms(fills_report.time_resolution_ms),
        )
        return data, [fills_report, *price_reports]
