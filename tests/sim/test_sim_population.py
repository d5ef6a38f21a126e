"""The leader population: counts, archetype behaviour, and fills that add up like a venue's."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR
from tailgate.domain.precision import round_price
from tailgate.venues.sim import SimWorld
from tailgate.venues.sim.ledger import LeaderLedger
from tailgate.venues.sim.population import ExitKind

ASSET_MINIMUMS = {"BTC": 50_000.0, "ETH": 25_000.0, "SOL": 10_000.0}


def _of(world: SimWorld, archetype: str) -> list[LeaderLedger]:
    return [lg for lg in world.ledgers.values() if lg.profile.archetype.value == archetype]


def _trades(world: SimWorld, archetype: str) -> np.ndarray:
    """Indices into world.outcomes of the archetype's closed (not still open) trades."""
    leaders = {lg.profile.index for lg in _of(world, archetype)}
    o = world.outcomes
    mine = np.isin(o.leader, list(leaders))
    return np.flatnonzero(mine & (o.exit_kind != ExitKind.OPEN_AT_END))


def test_generation_time_is_printed(world: SimWorld) -> None:
    fills = sum(lg.fill_time.size for lg in world.ledgers.values())
    print(
        f"\nworld: {len(world.leaders)} leaders, {world.outcomes.t_open.size} positions, "
        f"{fills} fills, {len(world.coins)} coins, "
        f"{(world.end_ms - world.history_start_ms) // MS_PER_DAY} days, "
        f"built in {world.build_seconds:.3f} s"
    )


def test_population_counts_match_the_config(world: SimWorld) -> None:
    counts = Counter(world.hidden_skill(a).archetype for a in world.leaders)
    assert len(world.leaders) >= 200
    assert counts == {
        "swing": 25,
        "position": 10,
        "noise": 90,
        "hft": 30,
        "overleveraged": 30,
        "tiny_win": 15,
    }
    skilled = {a for a in world.leaders if world.hidden_skill(a).is_skilled}
    assert {world.hidden_skill(a).archetype for a in skilled} == {"swing", "position"}
    for a in skilled:
        assert 0.05 <= world.hidden_skill(a).edge <= 0.10  # a modest edge
    assert all(world.hidden_skill(lg.address).edge == 0 for lg in _of(world, "noise"))
    with pytest.raises(KeyError):
        world.hidden_skill("0xnobody")


def test_account_values_are_lognormal_and_mostly_above_50k(world: SimWorld) -> None:
    values = np.array([lg.profile.account_value for lg in world.ledgers.values()])
    assert np.mean(values >= 50_000) > 0.9
    assert values.min() >= 25_000 and values.max() <= 8_000_000
    assert np.median(values) > 150_000


def test_history_spans_the_range_before_and_after_the_start(world: SimWorld) -> None:
    first = min(lg.fill_time[0] for lg in world.ledgers.values() if lg.fill_time.size)
    last = max(lg.fill_time[-1] for lg in world.ledgers.values() if lg.fill_time.size)
    assert first < world.start_ms - 85 * MS_PER_DAY
    assert last > world.end_ms - MS_PER_DAY


def test_hft_trade_often_and_hold_briefly(world: SimWorld) -> None:
    o = world.outcomes
    for lg in _of(world, "hft"):
        mine = np.flatnonzero(o.leader == lg.profile.index)
        days = (world.end_ms - lg.profile.start_ms) / MS_PER_DAY
        holds = (np.minimum(o.t_exit[mine], world.end_ms) - o.t_open[mine]) / MS_PER_HOUR
        assert mine.size / days > 5
        assert holds.mean() < 4


def test_tiny_win_leaders_win_over_85_percent_with_rare_large_losses(world: SimWorld) -> None:
    o = world.outcomes
    for lg in _of(world, "tiny_win"):
        mine = np.flatnonzero(
            (o.leader == lg.profile.index) & (o.exit_kind != ExitKind.OPEN_AT_END)
        )
        wins = o.pnl[mine] > 0
        assert wins.mean() > 0.85, lg.address
    every = _trades(world, "tiny_win")
    returns = o.ret[every]
    assert returns[returns > 0].max() < 0.01  # profits are taken small
    assert returns.min() < -0.05  # losses are rare but large


def test_over_leveraged_positions_vanish_on_liquidation_without_a_close_fill(
    world: SimWorld,
) -> None:
    o = world.outcomes
    trades = _trades(world, "overleveraged")
    liquidated = trades[o.exit_kind[trades] == ExitKind.LIQUIDATION]
    assert liquidated.size > 0.1 * trades.size
    assert (o.leverage[trades] >= 15).all()
    for i in liquidated[:40].tolist():
        lg = next(x for x in world.ledgers.values() if x.profile.index == o.leader[i])
        t_liq, coin = int(o.t_exit[i]), int(o.coin[i])
        in_coin = lg.fill_coin == coin
        during = in_coin & (lg.fill_time >= o.t_open[i]) & (lg.fill_time <= t_liq)
        assert during.any() and not np.isin(lg.fill_dir[during], [2, 3]).any()  # no Close fill
        after = np.flatnonzero(in_coin & (lg.fill_time > t_liq))
        if after.size:  # the next position starts from flat: the old one vanished
            assert lg.fill_start_lots[after[0]] == 0
        open_before = lg.open_at(t_liq - 1)
        open_after = lg.open_at(t_liq)
        assert coin in lg.seg_coin[open_before].tolist()
        assert coin not in lg.seg_coin[open_after].tolist()
        # The account drops by the margin at the liquidation.
        before, after_value = lg.realised_at(np.array([t_liq - 1, t_liq]))
        seg = open_before[lg.seg_coin[open_before] == coin][0]
        margin = abs(lg.seg_lots[seg]) / world.lot_scale[coin] * lg.seg_entry[seg]
        margin /= lg.seg_leverage[seg]
        assert after_value - before == pytest.approx(-margin, rel=1e-9)


def test_skilled_leaders_earn_more_per_trade_than_noise(world: SimWorld) -> None:
    o = world.outcomes

    def per_leader_mean(archetype: str) -> list[float]:
        out = []
        for lg in _of(world, archetype):
            mine = (o.leader == lg.profile.index) & (o.exit_kind != ExitKind.OPEN_AT_END)
            if mine.sum() >= 5:
                out.append(float(o.ret[mine].mean()))
        return out

    skilled = per_leader_mean("swing") + per_leader_mean("position")
    noise = per_leader_mean("noise")
    assert np.mean(skilled) > 0
    assert np.mean(skilled) > np.mean(noise) + 0.002
    skilled_trades = np.concatenate([_trades(world, "swing"), _trades(world, "position")])
    assert o.ret[skilled_trades].mean() > o.ret[_trades(world, "noise")].mean()


def test_one_position_per_leader_and_coin_at_a_time(world: SimWorld) -> None:
    for lg in world.ledgers.values():  # take-profit chains are scheduled on actual exits
        for coin in np.unique(lg.seg_coin).tolist():
            mine = lg.seg_coin == coin
            starts, ends = lg.seg_start[mine], lg.seg_end[mine]
            assert (starts[1:] >= ends[:-1]).all()


def test_fills_add_up_like_a_venue(world: SimWorld) -> None:
    orders_by_size: Counter[int] = Counter()
    all_tids: list[np.ndarray] = []
    for lg in list(world.ledgers.values())[::5]:
        all_tids.append(lg.fill_tid)
        position: dict[int, int] = defaultdict(int)
        liquidations = set(
            zip(lg.liquidation_coin.tolist(), lg.liquidation_time.tolist(), strict=True)
        )
        liq_by_coin: dict[int, list[int]] = defaultdict(list)
        for c, t in sorted(liquidations, key=lambda ct: ct[1]):
            liq_by_coin[c].append(t)
        last_time: dict[int, int] = {}
        for i in range(lg.fill_time.size):
            coin, t = int(lg.fill_coin[i]), int(lg.fill_time[i])
            if any(last_time.get(coin, -1) < tl <= t for tl in liq_by_coin[coin]):
                position[coin] = 0  # vanished
            assert lg.fill_start_lots[i] == position[coin]
            position[coin] += int(lg.fill_lots[i]) if lg.fill_buy[i] else -int(lg.fill_lots[i])
            last_time[coin] = t
        _, counts = np.unique(lg.fill_oid, return_counts=True)
        orders_by_size.update(counts.tolist())
        for oid in np.unique(lg.fill_oid)[:50].tolist():
            same = lg.fill_oid == oid
            assert len(set(lg.fill_time[same].tolist())) == 1
            assert len(set(lg.fill_dir[same].tolist())) == 1
    tids = np.concatenate(all_tids)
    assert np.unique(tids).size == tids.size
    assert set(orders_by_size) <= {1, 2, 3, 4} and orders_by_size[1] < sum(orders_by_size.values())
    assert sum(v for k, v in orders_by_size.items() if k > 1) > 0.2 * sum(orders_by_size.values())


def test_fill_prices_on_grid_and_sizes_on_lot(world: SimWorld) -> None:
    lg = _of(world, "swing")[0]
    for i in range(0, lg.fill_time.size, 17):
        c = int(lg.fill_coin[i])
        assert round_price(float(lg.fill_px[i]), world.markets[c]) == lg.fill_px[i]
        assert lg.fill_lots[i] >= 1


def test_skilled_leaders_add_within_two_hours_and_sometimes_reduce(world: SimWorld) -> None:
    adds = opens = reduces = 0
    for lg in _of(world, "swing"):
        opened_at: dict[int, int] = {}
        seen_oids: set[int] = set()
        for i in range(lg.fill_time.size):
            oid = int(lg.fill_oid[i])
            if oid in seen_oids:
                continue
            seen_oids.add(oid)
            coin, start, code = (
                int(lg.fill_coin[i]),
                int(lg.fill_start_lots[i]),
                int(lg.fill_dir[i]),
            )
            if code < 2 and start == 0:
                opens += 1
                opened_at[coin] = int(lg.fill_time[i])
            elif code < 2:
                adds += 1
                assert int(lg.fill_time[i]) - opened_at[coin] <= 2 * MS_PER_HOUR
            elif (
                start + (lg.fill_lots[lg.fill_oid == oid].sum() * (1 if lg.fill_buy[i] else -1))
                != 0
            ):
                reduces += 1
    assert 0.12 < adds / opens < 0.28
    assert reduces / opens > 0.1


def test_skilled_trade_values_often_exceed_the_asset_minimums(world: SimWorld) -> None:
    above = total = 0
    for lg in _of(world, "swing") + _of(world, "position"):
        opening = (lg.fill_start_lots == 0) & (lg.fill_dir < 2)
        for oid in np.unique(lg.fill_oid[opening]).tolist():
            same = lg.fill_oid == oid
            coin = world.coins[int(lg.fill_coin[same][0])]
            value = (
                float((lg.fill_px[same] * lg.fill_lots[same]).sum())
                / world.lot_scale[int(lg.fill_coin[same][0])]
            )
            total += 1
            above += value >= ASSET_MINIMUMS.get(coin, 5_000.0)
    assert above / total > 0.6
