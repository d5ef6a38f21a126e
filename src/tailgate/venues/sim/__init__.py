"""The embedded market simulator: deterministic prices, books and a population of leaders with
hidden skill, served through the venue protocols (SPEC §1 "Sim").

    world = SimWorld(SimConfig(seed=7))
    venue = SimVenue(world, now_ms=clock.now_ms)

`world.coins`, `world.start_ms`, `world.history_start_ms` and `world.end_ms` describe the range;
`world.hidden_skill(address)` is the truth the demo and tests judge the engine against.
"""

from tailgate.venues.sim.venue import SimVenue
from tailgate.venues.sim.world import LeaderTruth, SimConfig, SimWorld

__all__ = ["LeaderTruth", "SimConfig", "SimVenue", "SimWorld"]
