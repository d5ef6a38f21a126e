"""Leader trade ingestion (SPEC §C2): fetch (poll) or push → validate → dedupe → aggregate.

A fill is processed at most once: its durable key is recorded by the store in the same
transaction as the trade's signal (see the copier), so a crash between fetch and record only
means the fill is fetched and judged again. To know a fill is new without a query on the copy
path (SPEC §N), the ingestor keeps every key of the last TRUST_WINDOW_MS in memory: the store's
at its first look, then its own. A fill inside that window and not in memory is new; an older
one, or one whose trade failed mid-way (`forget`), is looked up in the store. The store's
unique key stays the last word: a trade recorded twice is refused there.
Malformed or invalid fills are recorded with a reason code and logged; the run continues.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from tailgate.domain import aggregate_fills, validate_leader_fill
from tailgate.domain.models import MS_PER_HOUR, LeaderFill, LeaderTrade
from tailgate.domain.reasons import ReasonCode
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.venues.protocols import FillPage, LeaderFeed

__all__ = ["Fetched", "IngestionResult", "LeaderTradeIngestor"]

log = get_logger("tailgate.ingestion")

POLL_LOOKBACK_MS = MS_PER_HOUR  # "polling the last hour every POLL_INTERVAL" (§C2)
MAX_BACKFILL_MS = 24 * MS_PER_HOUR  # after downtime, fetch at most this far back
CHECKPOINT_INTERVAL_MS = 15 * 60_000  # cursors only bound the backfill window
_CURSOR_KEY = "ingest_cursor"
TRUST_WINDOW_MS = MAX_BACKFILL_MS + POLL_LOOKBACK_MS  # fills this recent: memory knows them
CLOCK_SKEW_MS = MS_PER_HOUR  # a fill's venue time may run ahead of our clock's `seen_ms`


@dataclass(frozen=True, slots=True)
class Fetched:
    """One leader's fills as read (polled: `polled_ms` is when) or pushed (None)."""

    leader: str
    page: FillPage
    polled_ms: int | None = None
    failed: bool = False  # the read failed: nothing read, the cursor stays


@dataclass(slots=True)
class IngestionResult:
    trades: list[LeaderTrade] = field(default_factory=list)
    rejected: int = 0
    duplicates: int = 0
    complete: bool = True  # False: some leader's read failed (it is looked at again later)


class LeaderTradeIngestor:
    def __init__(self, feed: LeaderFeed, store: Store, known_coins: Collection[str]) -> None:
        self._feed = feed
        self._store = store
        self._known_coins = frozenset(known_coins)
        self._cursors: dict[str, int] = dict(store.get_state(_CURSOR_KEY) or {})
        # keys handled by this process, with their fill time, pruned past the lookback
        self._recent: dict[str, int] = {}
        self._known_from: int | None = None  # memory holds every key of fills since then
        self._stored_keys: dict[str, int] = {}  # the store's keys at the first look
        self._ask_store: set[str] = set()  # forgotten keys: their trade may have been recorded
        self._checkpointed_ms = 0

    async def poll(self, leaders: Iterable[str], now_ms: int) -> IngestionResult:
        """Fetch every leader's recent fills and return the new ones as aggregated trades."""
        return self.accept(await self.fetch(leaders, now_ms), now_ms)

    async def fetch(self, leaders: Iterable[str], now_ms: int) -> list[Fetched]:
        """Each leader's fills since its cursor (at least the last hour, at most a day back).
        A leader whose read fails is logged and left for the next look — its cursor does not
        move; only when every read fails does this raise (the venue is down, not a leader)."""
        fetched: list[Fetched] = []
        failed: BaseException | None = None
        wanted = list(leaders)
        for leader in wanted:
            start = max(
                min(now_ms - POLL_LOOKBACK_MS, self._cursors.get(leader, now_ms)),
                now_ms - MAX_BACKFILL_MS,
            )
            try:
                page = await self._feed.leader_fills(leader, start, now_ms + 1)
            except Exception as exc:
                failed = exc
                log.warning(
                    "leader_fills_unavailable",
                    leader=leader,
                    error=f"{type(exc).__name__}: {exc}",
                )
                fetched.append(Fetched(leader, FillPage([]), None, failed=True))
                continue
            fetched.append(Fetched(leader, page, now_ms))
        if failed is not None and all(f.failed for f in fetched):
            raise failed
        return fetched

    def accept(self, pages: Iterable[Fetched], now_ms: int) -> IngestionResult:
        """What is new in `pages`, validated and aggregated by order; no I/O but the store's
        dedupe lookup. A page with `polled_ms` moves its leader's cursor there."""
        result = IngestionResult()
        if self._known_from is None:
            self._remember_stored(now_ms)
        candidates: list[LeaderFill] = []
        moved = False  # a polled page moved a cursor (pushed pages never do)
        for fetched in pages:
            leader, page = fetched.leader, fetched.page
            result.complete = result.complete and not fetched.failed
            for reject in page.rejects:
                # no durable key: remember it for this process so it is logged once
                key = f"payload:{leader}:{reject.reason}:{reject.detail}:{reject.excerpt}"
                if key not in self._recent:
                    self._recent[key] = now_ms
                    result.rejected += 1
                    self._record_reject(
                        leader, None, reject.reason, reject.detail, reject.excerpt, None, now_ms
                    )
            candidates.extend(f for f in page.fills if f.dedupe_key not in self._recent)
            if fetched.polled_ms is not None:
                self._cursors[leader] = fetched.polled_ms
                moved = True
        if candidates:
            seen = self._stored(candidates, now_ms)
            fresh: list[LeaderFill] = []
            for f in candidates:
                if f.dedupe_key in self._recent:  # twice in these pages (a duplicated push)
                    continue
                self._recent[f.dedupe_key] = f.time_ms
                if f.dedupe_key in seen:
                    result.duplicates += 1
                    continue
                problem = validate_leader_fill(f, self._known_coins)
                if problem is None:
                    fresh.append(f)
                else:
                    result.rejected += 1
                    self._record_reject(f.leader, f.dedupe_key, *problem, "", f.time_ms, now_ms)
            result.trades = aggregate_fills(fresh)
        self._prune(now_ms)
        if moved and now_ms - self._checkpointed_ms >= CHECKPOINT_INTERVAL_MS:
            self.checkpoint(now_ms)
        return result

    def forget(self, keys: Iterable[str]) -> None:
        """Fills whose trade could not be handled (the venue failed mid-way): the next look
        takes them again instead of skipping them as handled by this process."""
        for key in keys:
            self._recent.pop(key, None)
            self._ask_store.add(key)

    def _remember_stored(self, now_ms: int) -> None:
        """First look: every key the store recorded for fills of the trust window."""
        since = now_ms - TRUST_WINDOW_MS
        self._stored_keys = self._store.fill_keys_seen_since(since - CLOCK_SKEW_MS)
        self._known_from = since

    def _stored(self, candidates: list[LeaderFill], now_ms: int) -> set[str]:
        """Which candidates (none in memory) the store already has: only those memory cannot
        vouch for are looked up."""
        assert self._known_from is not None
        known_from = max(self._known_from, now_ms - TRUST_WINDOW_MS)
        stored = {f.dedupe_key for f in candidates if f.dedupe_key in self._stored_keys}
        ask = [
            f.dedupe_key
            for f in candidates
            if f.dedupe_key not in stored
            and (f.time_ms < known_from or f.dedupe_key in self._ask_store)
        ]
        if ask:
            self._ask_store.difference_update(ask)
            stored |= self._store.seen_fill_keys(ask)
        return stored

    def checkpoint(self, now_ms: int) -> None:
        """Persist the per-leader cursors (SPEC §R5); dedupe never depends on them."""
        self._store.set_states(self.checkpoint_values(now_ms), now_ms)

    def checkpoint_values(self, now_ms: int) -> dict[str, object]:
        """The cursors as a checkpoint writes them, for a caller that writes several at once
        (they count as persisted from here)."""
        self._checkpointed_ms = now_ms
        return {_CURSOR_KEY: self._cursors}

    def _prune(self, now_ms: int) -> None:
        horizon = now_ms - TRUST_WINDOW_MS
        if len(self._recent) > 10_000:
            self._recent = {k: t for k, t in self._recent.items() if t >= horizon}
        if len(self._stored_keys) > 10_000:  # by when recorded: allow for the venue's clock
            since = horizon - CLOCK_SKEW_MS
            self._stored_keys = {k: t for k, t in self._stored_keys.items() if t >= since}

    def _record_reject(
        self,
        leader: str,
        dedupe_key: str | None,
        reason: ReasonCode,
        detail: str,
        excerpt: str,
        time_ms: int | None,
        now_ms: int,
    ) -> None:
        log.warning(
            "leader_fill_rejected",
            leader=leader,
            reason=reason.value,
            detail=detail,
            dedupe_key=dedupe_key,
        )
        self._store.record_rejected_fill(
            leader=leader,
            dedupe_key=dedupe_key,
            reason=reason.value,
            detail=detail,
            excerpt=excerpt,
            time_ms=time_ms,
            seen_ms=now_ms,
        )
