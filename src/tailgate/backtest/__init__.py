"""Backtesting: replay, fill and slippage models, metrics and reports (SPEC §B)."""
