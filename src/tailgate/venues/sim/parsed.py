"""What the real adapter's parser makes of the simulator's payloads, built straight from the world.

`payloads.py` renders the world as Hyperliquid JSON and `venues/hyperliquid/parse.py` reads it
back: that round trip is what the loopback emulator serves and what the parser tests exercise.
In process, where a replay asks for hundreds of thousands of fills and a leader's state every
few simulated minutes, it cost half the replay's time, so `SimVenue` builds the parser's result
for the hottest reads (fills, leaders' states and account histories, mids) directly:

- every number goes through the same decimal text the payload carries (`num` is a shortest
  round trip, so only values printed in exponent notation — below 1e-4 or from 1e16 — and the
  six-decimal amounts change on the way, and they change here the same way);
- a fill the world corrupts (`malformed_fill_rate`) is rendered as JSON and parsed, so it meets
  exactly the rejection (or the odd value) the parser gives it.

`tests/sim/test_parsed.py` holds both paths equal: fill for fill, reject for reject, state for
state.
"""

from __future__ import annotations

import math

import numpy as np

from tailgate.domain.models import LeaderFill, LeaderPosition, LeaderState, Side
from tailgate.venues.hyperliquid.parse import parse_all_mids, parse_user_fills
from tailgate.venues.protocols import FillPage, RejectedPayload
from tailgate.venues.sim import payloads
from tailgate.venues.sim.ids import tx_hash, unit_interval
from tailgate.venues.sim.ledger import DIRECTIONS, LeaderLedger
from tailgate.venues.sim.world import SimWorld

__all__ = ["account_values", "all_mids", "fill_page", "leader_state", "wire_float"]

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
    fills: list[LeaderFill] = []
    rejects: list[RejectedPayload] = []
    hashes: dict[int, str] = {}  # an order's fills share its hash
    rows = payloads.fill_rows(ledger, i0, i1)
    for i, (coin, px, lots, buy, t, start, code, pnl, oid, _, fee, tid) in enumerate(rows, i0):
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


def leader_state(
    world: SimWorld, ledger: LeaderLedger | None, leader: str, now_ms: int
) -> LeaderState:
    """What `parse_clearinghouse_state` reads from `payloads.clearinghouse_state` at now."""
    account, positions = payloads.account_at(world, ledger, now_ms)
    return LeaderState(
        leader=leader,
        account_value=float(f"{account:.6f}"),
        positions=tuple(
            LeaderPosition(
                coin=p.coin,
                side=Side.of(size),
                size=abs(size),
                entry_price=wire_float(p.entry),
                leverage=float(int(p.leverage)),
                position_value=abs(float(f"{p.value:.6f}")),
            )
            for p in positions
            if (size := wire_float(p.size)) != 0
        ),
        time_ms=now_ms,
    )


def all_mids(world: SimWorld, now_ms: int) -> dict[str, float]:
    """What `parse_all_mids` reads from `payloads.all_mids` at now (six significant figures)."""
    minute = world.paths.minute_of(now_ms)
    closes = world.paths.close[:, minute].tolist()
    mids = {c: wire_float(float(f"{px:.6g}")) for c, px in zip(world.coins, closes, strict=True)}
    if not all(math.isfinite(m) and m > 0 for m in mids.values()):  # the parser refuses it
        return parse_all_mids(payloads.all_mids(world, now_ms))
    return mids


def account_values(
    world: SimWorld, ledger: LeaderLedger | None, now_ms: int
) -> list[tuple[int, float]]:
    """What `parse_portfolio` reads from `payloads.portfolio` at now: the history spanning the
    longest time (ties: more points; first window wins), the hourly day or the daily 90 days."""
    if ledger is None or ledger.profile.start_ms > now_ms:
        return []
    daily, hourly = payloads.portfolio_times(world, ledger, now_ms)

    def key(points: list[int]) -> tuple[int, int]:
        return points[-1] - points[0], len(points)

    times = hourly if key(hourly) >= key(daily) else daily
    values = world.equity(ledger.address, np.array(times)).tolist()
    return [(t, float(f"{v:.6f}")) for t, v in zip(times, values, strict=True)]
