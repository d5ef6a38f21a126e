"""Reason codes: every pass, skip and rejection carries one, into the store and the logs."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ReasonCode"]


class ReasonCode(StrEnum):
    # step 1: action filter
    OPEN = "OPEN"
    ADD_WITHIN_WINDOW = "ADD_WITHIN_WINDOW"
    ADD_TOO_OLD = "ADD_TOO_OLD"
    ADD_OPEN_UNKNOWN = "ADD_OPEN_UNKNOWN"
    EXIT_ACTION = "EXIT_ACTION"  # Reduce / Close: not an entry, feeds the leader-exit logic
    # step 2: asset minimum
    TRADE_VALUE_OK = "TRADE_VALUE_OK"
    BELOW_ASSET_MINIMUM = "BELOW_ASSET_MINIMUM"
    # step 3: weight
    WEIGHT_OK = "WEIGHT_OK"
    POSITION_WEIGHT_LOW = "POSITION_WEIGHT_LOW"
    TRADE_WEIGHT_LOW = "TRADE_WEIGHT_LOW"
    # step 4: confirmation delay
    DEFERRED_FOR_CONFIRMATION = "DEFERRED_FOR_CONFIRMATION"
    CONFIRMED = "CONFIRMED"
    LEADER_POSITION_CLOSED = "LEADER_POSITION_CLOSED"
    # step 5: slippage gate
    SLIPPAGE_OK = "SLIPPAGE_OK"
    SLIPPAGE_EXCEEDED = "SLIPPAGE_EXCEEDED"
    NO_PRICE = "NO_PRICE"
    # step 6: execution timing
    TIMING_MARKET = "TIMING_MARKET"
    TIMING_LIMIT = "TIMING_LIMIT"
    TIMING_LIMIT_PRICE_MOVED = "TIMING_LIMIT_PRICE_MOVED"
    TIMING_LATE_HIGH_CONVICTION = "TIMING_LATE_HIGH_CONVICTION"
    TIMING_TOO_LATE = "TIMING_TOO_LATE"
    # step 7: consensus
    CONSENSUS_DISABLED = "CONSENSUS_DISABLED"
    CONSENSUS_MET = "CONSENSUS_MET"
    CONSENSUS_NOT_MET = "CONSENSUS_NOT_MET"
    # step 8: portfolio limits
    PORTFOLIO_OK = "PORTFOLIO_OK"
    MAX_POSITIONS_REACHED = "MAX_POSITIONS_REACHED"
    TOTAL_EXPOSURE_LIMIT = "TOTAL_EXPOSURE_LIMIT"
    TOKEN_EXPOSURE_LIMIT = "TOKEN_EXPOSURE_LIMIT"
    # step 9: size
    SIZED = "SIZED"
    SIZED_TO_HEADROOM = "SIZED_TO_HEADROOM"
    ADD_BELOW_MINIMUM = "ADD_BELOW_MINIMUM"  # our copy already matches the leader's added size
    # ingestion: before the pipeline
    MALFORMED_PAYLOAD = "MALFORMED_PAYLOAD"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_SIZE = "INVALID_SIZE"
    INVALID_TIME = "INVALID_TIME"
    UNKNOWN_COIN = "UNKNOWN_COIN"
    INCONSISTENT_FILL = "INCONSISTENT_FILL"
    LEADER_NOT_COPIED = "LEADER_NOT_COPIED"
    LEADER_BLACKLISTED = "LEADER_BLACKLISTED"
    ALREADY_COPIED = "ALREADY_COPIED"  # a second entry signal for a coin we already hold
    # execution and exits
    ORDER_FILLED = "ORDER_FILLED"
    ORDER_PARTIAL = "ORDER_PARTIAL"
    ORDER_NOT_FILLED = "ORDER_NOT_FILLED"
    ORDER_REJECTED = "ORDER_REJECTED"
    SIZE_BELOW_VENUE_MINIMUM = "SIZE_BELOW_VENUE_MINIMUM"
    LEADER_CLOSED = "LEADER_CLOSED"
    LEADER_REDUCED = "LEADER_REDUCED"
    RESTART_UNRESOLVED = "RESTART_UNRESOLVED"
    STALE_PENDING = "STALE_PENDING"  # an intent never sent within PENDING_TTL (§E2)
    SUPERSEDED = "SUPERSEDED"  # an unsent stop or exit, redone by its obligation (§E5)
    CLAIMED_ELSEWHERE = "CLAIMED_ELSEWHERE"  # another executor sent this intent
    PRICE_UNAVAILABLE = "PRICE_UNAVAILABLE"  # no source of the §E9 fallback chain is usable
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"  # preflight: margin exceeds free collateral (§E8)
    # guardrails (§E4): checked before an entry's intent is written; the intent is SKIPPED
    KILL_SWITCH = "KILL_SWITCH"
    LIVE_NOT_ARMED = "LIVE_NOT_ARMED"
    MAX_ORDER_SIZE = "MAX_ORDER_SIZE"
    DAILY_LOSS_CAP = "DAILY_LOSS_CAP"
    DAILY_VOLUME_CAP = "DAILY_VOLUME_CAP"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    ACCOUNT_HALTED = "ACCOUNT_HALTED"  # reconciliation could not repair the account (§R1)
    # reconciliation (§R1)
    RECONCILED_FLAT = "RECONCILED_FLAT"  # the venue holds no position we thought open
