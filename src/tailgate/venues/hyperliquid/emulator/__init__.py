"""A loopback Hyperliquid: the simulator served over the venue's HTTP and WebSocket protocol,
with fault injection, so the real adapter can be tested end-to-end without the internet."""

from tailgate.venues.hyperliquid.emulator.faults import FaultPlan, Faults
from tailgate.venues.hyperliquid.emulator.server import build_app, serve
from tailgate.venues.hyperliquid.emulator.venue import EmulatedVenue, ExchangeError, Verifier

__all__ = [
    "EmulatedVenue",
    "ExchangeError",
    "FaultPlan",
    "Faults",
    "Verifier",
    "build_app",
    "serve",
]
