"""Fixtures for the simulator and parser tests: worlds built once per session, and the real
recorded Hyperliquid payloads (skipped cleanly when the shared data folder is absent)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tailgate.venues.sim import SimConfig, SimVenue, SimWorld
from tests.shared_data import read_cassette


@pytest.fixture(scope="session")
def cassette(shared_data: Path) -> Callable[[str], list[object]]:
    folder = shared_data / "hl-python-sdk" / "tests" / "cassettes" / "info_test"

    def load(name: str) -> list[object]:
        path = folder / name
        if not path.is_file():
            pytest.skip(f"cassette {name} not found")
        return read_cassette(path)

    return load


@pytest.fixture(scope="session")
def nautilus_fixture(shared_data: Path) -> Callable[[str], object]:
    folder = shared_data / "nautilus-fixtures" / "crates" / "adapters" / "hyperliquid" / "test_data"

    def load(name: str) -> object:
        path = folder / name
        if not path.is_file():
            pytest.skip(f"fixture {name} not found")
        return json.loads(path.read_text())

    return load


SMALL = SimConfig(
    seed=11,
    history_days=20,
    forward_days=10,
    n_swing=4,
    n_position=2,
    n_noise=6,
    n_hft=3,
    n_overleveraged=4,
    n_tiny_win=3,
)


@pytest.fixture(scope="session")
def world() -> SimWorld:
    """The default world (seed 7, 90 + 90 days, 200 leaders)."""
    built = SimWorld()
    print(f"\ndefault SimWorld built in {built.build_seconds:.3f} s")
    return built


@pytest.fixture(scope="session")
def small_world() -> SimWorld:
    return SimWorld(SMALL)


class Clock:
    """A settable simulated clock."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(world: SimWorld) -> Clock:
    return Clock(world.start_ms)


@pytest.fixture
def venue(world: SimWorld, clock: Clock) -> SimVenue:
    return SimVenue(world, clock)
