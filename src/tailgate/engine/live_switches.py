"""Live arming (SPEC §S, §E4): paper unless the operator asked for live in two places.

Live trading needs both switches — `mode = "live"` in the configuration *and* `--live` on the
command line — plus `max_live_order_usd`. The rule is one pure function, so the command line
and the session decide alike and the table below is tested as it is written:

| config mode | `--live` | max_live_order_usd | venue       | outcome                            |
|-------------|----------|--------------------|-------------|------------------------------------|
| live        | yes      | set                | hyperliquid | LIVE                               |
| live        | no       | any                | any         | PAPER, with a warning              |
| not live    | yes      | any                | any         | refused: the flag alone arms nothing |
| live        | yes      | unset              | any         | refused: no live order cap         |
| live        | yes      | set                | sim         | refused: the simulator has no live |
| not live    | no       | any                | any         | PAPER                              |

A refusal is for a user who typed `--live` and expects real orders: running paper instead
would be a silent surprise. The configuration alone falls back to paper, as the issue asks
("otherwise orders go to paper"), loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tailgate.config import Mode, Settings

__all__ = [
    "LiveDecision",
    "LiveNotArmed",
    "RunMode",
    "decide_run_mode",
    "live_settings",
    "paper_settings",
]

LIVE_VENUES = frozenset({"hyperliquid"})


class RunMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class LiveNotArmed(ValueError):
    """Live trading was asked for but a switch is missing; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class LiveDecision:
    mode: RunMode | None  # None: refused
    refusal: str | None = None  # why, naming the missing switch
    warning: str | None = None  # paper although the configuration says live

    @property
    def refused(self) -> bool:
        return self.mode is None


def decide_run_mode(
    settings: Settings, *, live_flag: bool, venue: str | None = None
) -> LiveDecision:
    """Paper, live or refused, from the configuration and the `--live` flag (see the table);
    `venue` is where the run trades when it is not `settings.venue`."""
    configured_live = settings.mode is Mode.LIVE
    venue = venue or settings.venue
    if not live_flag:
        if configured_live:
            return LiveDecision(
                RunMode.PAPER,
                warning='mode = "live" is configured but --live was not given: running in '
                "PAPER mode, no order is sent (live needs both switches)",
            )
        return LiveDecision(RunMode.PAPER)
    if not configured_live:
        return LiveDecision(
            None,
            refusal=f"--live was given but the configuration says mode = "
            f'"{settings.mode.value}": live trading needs both switches, mode = "live" in '
            "tailgate.toml (or TAILGATE_MODE=live) and --live",
        )
    if settings.max_live_order_usd is None:
        return LiveDecision(
            None,
            refusal="live trading needs a maximum live order size: set max_live_order_usd "
            "(or TAILGATE_MAX_LIVE_ORDER_USD), e.g. 100",
        )
    if venue not in LIVE_VENUES:
        return LiveDecision(
            None, refusal=f"venue {venue!r} has no live trading: use --venue hyperliquid"
        )
    return LiveDecision(RunMode.LIVE)


def paper_settings(settings: Settings) -> Settings:
    """The settings a paper run gives the engine: mode PAPER (a configured "live" that was not
    armed would otherwise refuse every entry as LIVE_NOT_ARMED)."""
    if settings.mode is Mode.LIVE:
        return settings.model_copy(update={"mode": Mode.PAPER})
    return settings


def live_settings(settings: Settings) -> Settings:
    """The settings a live run gives the engine: every entry is capped by the smaller of
    `max_order_usd` and `max_live_order_usd` (the engine's max-order guardrail)."""
    assert settings.max_live_order_usd is not None
    cap = min(settings.max_order_usd, settings.max_live_order_usd)
    return settings.model_copy(update={"max_order_usd": cap})
