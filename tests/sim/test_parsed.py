"""What the simulator builds in process equals the Hyperliquid JSON round trip."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tailgate.domain.models import MS_PER_HOUR
from tailgate.venues.hyperliquid.parse import (
    parse_all_mids,
    parse_clearinghouse_state,
    parse_portfolio,
    parse_user_fills,
)
from tailgate.venues.protocols import FillPage
from tailgate.venues.sim import SimWorld, payloads
from tailgate.venues.sim.parsed import (
    account_values,
    all_mids,
    fill_page,
    leader_state,
    wire_float,
)

from .conftest import SMALL


def _rows(page: FillPage) -> tuple[list[str], list[dict]]:
    # repr, not ==: a corrupted "NaN" price never equals itself
    return [repr(f) for f in page.fills], [dataclasses.asdict(r) for r in page.rejects]


@pytest.mark.parametrize("rate", [0.0, 0.2])
def test_fill_pages_equal_the_parsed_payloads(rate: float) -> None:
    world = SimWorld(dataclasses.replace(SMALL, malformed_fill_rate=rate))
    checked = rejected = 0
    for address, ledger in world.ledgers.items():
        n = ledger.fill_time.size
        for i0, i1 in ((0, n), (n // 3, n // 3 + 7), (n - 1, n), (5, 5)):
            i0, i1 = max(0, min(i0, n)), max(0, min(i1, n))
            direct = fill_page(world, ledger, i0, i1, address, rate)
            parsed = parse_user_fills(payloads.user_fills(world, ledger, i0, i1, rate), address)
            assert _rows(direct) == _rows(parsed), (address, i0, i1)
            checked += len(direct.fills)
            rejected += len(direct.rejects)
    assert checked > 2_000
    assert (rejected > 0) == (rate > 0)


@pytest.mark.parametrize(
    "x", [0.0, -0.0, 1e-4, 9.99e-5, 0.00001, 3e-05, 1.5, 65_432.1, 1e16, 9_999_999_999_999_998.0]
)
def test_wire_float_reads_as_the_venue_text(x: float) -> None:
    assert wire_float(x) == float(payloads.num(x))
    assert math.copysign(1, wire_float(x)) == math.copysign(1, float(payloads.num(x)))


def test_leader_states_equal_the_parsed_payloads() -> None:
    world = SimWorld(SMALL)
    compared = with_positions = 0
    for address in (*world.leader_addresses(), "0x" + "0" * 40):  # and an unknown leader
        ledger = world.ledger(address)
        for now in range(world.history_start_ms - MS_PER_HOUR, world.end_ms, 7 * MS_PER_HOUR):
            direct = leader_state(world, ledger, address, now)
            raw = payloads.clearinghouse_state(world, ledger, now)
            assert direct == parse_clearinghouse_state(raw, address, now), (address, now)
            compared += 1
            with_positions += bool(direct.positions)
    assert compared > 1_000 and with_positions > 100


def test_mids_equal_the_parsed_payloads() -> None:
    world = SimWorld(SMALL)
    for now in range(world.history_start_ms, world.end_ms, 13 * 60_000 + 7):
        assert all_mids(world, now) == parse_all_mids(payloads.all_mids(world, now)), now


def test_account_histories_equal_the_parsed_payloads() -> None:
    world = SimWorld(SMALL)
    compared = 0
    for address in (*world.leader_addresses(), "0x" + "0" * 40):
        ledger = world.ledger(address)
        for now in range(world.history_start_ms - MS_PER_HOUR, world.end_ms, 11 * MS_PER_HOUR):
            direct = account_values(world, ledger, now)
            assert direct == parse_portfolio(payloads.portfolio(world, ledger, now)), now
            compared += bool(direct)
    assert compared > 500
