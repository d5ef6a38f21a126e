"""§E3/§E4 on the real engine: an entry a guardrail refuses is still written — SKIPPED, with
its reason — and never reaches the venue; exits are never refused."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tailgate.config import load_settings
from tailgate.engine.sim_session import run_sim_session
from tailgate.logs import configure_logging
from tailgate.store.records import OrderPurpose, OrderState
from tailgate.venues.sim import SimConfig, SimWorld

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return SimWorld(SimConfig(seed=7, forward_days=8))


def _run(tmp_path: Path, world: SimWorld, **overrides):
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/t.db", workdir=tmp_path, **overrides
    )
    return asyncio.run(run_sim_session(settings, days=6, world=world))


def test_with_the_kill_switch_on_every_entry_is_skipped_and_none_is_sent(world, tmp_path):
    session = _run(tmp_path, world, kill_switch=True)
    entries = [o for o in session.store.load_orders() if o.purpose is OrderPurpose.ENTRY]
    assert entries, "the pipeline accepted trades: the switch had something to refuse"
    assert {(o.state, o.reason) for o in entries} == {(OrderState.SKIPPED, "KILL_SWITCH")}
    assert not session.venue.account.holdings  # nothing reached the venue
    session.store.close()


CAP = 25_000.0


def test_a_daily_volume_cap_holds_each_day_and_skips_the_rest(world, tmp_path):
    session = _run(tmp_path, world, daily_volume_cap_usd=CAP)
    store = session.store
    entries = [o for o in store.load_orders() if o.purpose is OrderPurpose.ENTRY]
    reasons = Counter(o.reason for o in entries if o.state is OrderState.SKIPPED)
    sent = [o for o in entries if o.state is not OrderState.SKIPPED]
    assert reasons["DAILY_VOLUME_CAP"] > 0 and sent
    traded: Counter[int] = Counter()
    for fill in store.load_fills():
        traded[fill.time_ms // 86_400_000] += fill.price * fill.size
    # entries are judged at their limit price; exits may add to a day but are never refused
    entry_days: Counter[int] = Counter()
    for o in sent:
        entry_days[o.created_ms // 86_400_000] += o.filled_size * o.avg_price
    assert max(entry_days.values()) <= CAP * 1.01
    assert max(traded.values()) > 0
    store.close()
