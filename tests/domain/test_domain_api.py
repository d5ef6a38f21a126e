"""The domain package re-exports its public surface under the spec's names."""

from __future__ import annotations

import tailgate.domain as domain

SPEC_NAMES = [
    "classify_trader_style",
    "compute_trader_score",
    "consistency_score",
    "select_traders",
    "evaluate_trade",
    "compute_copy_size",
    "get_leverage_from_positions",
    "aggregate_fills",
    "validate_leader_fill",
    "round_price",
    "round_size",
    "Signal",
    "SignalOutcome",
    "StepDecision",
    "PipelineContext",
    "ReasonCode",
    "CopyParams",
    "DEFAULT_PARAMS",
    "TraderScore",
    "Selection",
    "Side",
    "Action",
    "TraderStyle",
    "Tier",
    "OrderType",
    "LeaderFill",
    "LeaderTrade",
    "LeaderPosition",
    "Trader",
    "Market",
    "PortfolioView",
]


def test_spec_names_are_exported():
    missing = [name for name in SPEC_NAMES if name not in domain.__all__]
    assert missing == []


def test_everything_in_all_exists():
    assert all(hasattr(domain, name) for name in domain.__all__)
