"""A leader's fills as the real adapter would hand them over, built straight from the ledger.

`payloads.user_fills` renders fills as Hyperliquid JSON and `parse_user_fills` reads them back:
that round trip is what the loopback emulator serves and what the parser tests exercise. In
process, where a backtest asks for hundreds of thousands of fills, it cost half the replay's
time, so `SimVenue` builds the parser's result directly:

- every number goes through the same decimal text the payload carries (`num` is a shortest
  round trip, so only values printed in exponent notation — below 1e-4 or from 1e16 — and the
  six-decimal `closedPnl` / `fee` change on the way, and they change here the same way);
- a fill the world corrupts (`malformed_fill_rate`) is rendered as JSON and parsed, so it meets
  exactly the rejection (or the odd value) the parser gives it.

`tests/sim/test_fill_pages.py` holds the two paths equal, fill for fill, reject for reject.
"""

from __future__ import annotations

from tailgate.domain.models import LeaderFill
from tailgate.venues.hyperliquid.parse import parse_user_fills
from tailgate.venues.protocols import FillPage, RejectedPayload
from tailgate.venues.sim import payloads
from tailgate.venues.sim.ids import tx_hash, unit_interval
from tailgate.venues.sim.ledger import DIRECTIONS, LeaderLedger
from tailgate.venues.sim.world import SimWorld

__all__ = ["fill_page", "wire_float"]

_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e16  # where `repr` stops and exponent notation starts


def wire_float(x: float) -> float:
    """`float(payloads.num(x))`: what a number reads as after the venue's text, cheaply."""
    if x == 0 or _PLAIN_LOW <= abs(x) < _PLAIN_HIGH:
        return x  # repr round-trips exactly
    return float(payloads.num(x))


def fill_page(
    world: SimWorld, ledger: LeaderLedger, i0: int, i1: int, leader: str, malformed_rate: float
) -> FillPage:
    """`parse_user_fills(payloads.user_fills(world, ledger, i0, i1, rate), leader)`."""
    if i1 <= i0:
        return FillPage(fills=[])
    seed = world.config.seed
    coins = world.coins
    scale = [float(lot) for lot in world.lot_scale]  # Python floats, as the text reads back
    sl = slice(i0, i1)
    fills: list[LeaderFill] = []
    rejects: list[RejectedPayload] = []
    hashes: dict[int, str] = {}  # an order's fills share its hash
    rows = zip(
        ledger.fill_coin[sl].tolist(),
        ledger.fill_px[sl].tolist(),
        ledger.fill_lots[sl].tolist(),
        ledger.fill_buy[sl].tolist(),
        ledger.fill_time[sl].tolist(),
        ledger.fill_start_lots[sl].tolist(),
        ledger.fill_dir[sl].tolist(),
        ledger.fill_closed_pnl[sl].tolist(),
        ledger.fill_oid[sl].tolist(),
        ledger.fill_fee[sl].tolist(),
        ledger.fill_tid[sl].tolist(),
        strict=True,
    )
    for i, (coin, px, lots, buy, t, start, code, pnl, oid, fee, tid) in enumerate(rows, i0):
        if (
            malformed_rate > 0
            and unit_interval(seed, payloads.STREAM_CORRUPT, tid) < malformed_rate
        ):
            page = parse_user_fills(
                payloads.user_fills(world, ledger, i, i + 1, malformed_rate), leader
            )
            fills.extend(page.fills)
            rejects.extend(page.rejects)
            continue
        lot = scale[coin]
        h = hashes.get(oid)
        if h is None:
            h = hashes[oid] = tx_hash(seed, oid)
        fills.append(
            LeaderFill(
                leader=leader,
                coin=coins[coin],
                price=wire_float(px),
                size=wire_float(lots / lot),
                is_buy=buy,
                direction=DIRECTIONS[code],
                start_position=wire_float(start / lot),
                time_ms=t,
                order_id=oid,
                fill_id=str(tid),
                tx_hash=h,
                closed_pnl=float(f"{pnl:.6f}"),
                fee=float(f"{fee:.6f}"),
            )
        )
    fills.sort(key=lambda f: f.time_ms)
    return FillPage(fills=fills, rejects=rejects)
