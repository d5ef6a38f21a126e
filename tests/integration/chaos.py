"""SIGKILL chaos (SPEC §E1, §N "no lost work across SIGKILL at any point").

The engine runs as a separate process (`tailgate run --venue sim`) against the persistent
simulator venue (its own SQLite file, which outlives our process like a real exchange). It is
SIGKILLed at seeded-random moments and restarted each time, always towards the same absolute
simulated end; then it runs to that end cleanly, starts once more (the venue kept going while
we were down: a stop may fire in our last look at it) and the store is held against the
venue's own records:

(a) no client order id reached the venue twice;
(b) every fill the venue made for us has its fill row (same size and price), on the order with
    the same client id; every fill row is a venue fill; no order has fills without having
    reached the venue; the venue's positions are the store's open positions, coin by coin;
(c) no leader trade was copied twice (at most one entry order per leader trade) and none was
    lost: for every refresh of the primary leaders at time R_k (observed after each life) and
    every leader L in that primary set, every fill of L in the world with
    R_k + POLL_INTERVAL - POLL_LOOKBACK <= time <= R_(k+1) - POLL_INTERVAL (the end for the
    last refresh) is in `leader_fills_seen`. Why exactly these: the engine polls the primary
    leaders (and those whose position we hold) every POLL_INTERVAL, each poll fetching the last
    POLL_LOOKBACK (1 h) or back to the leader's cursor; the first poll after R_k comes within one
    interval of it (in the same life, or at the next life's start, which is never later than
    the killed life's clock), the last poll before R_(k+1) within one interval before it, and
    consecutive polls — across a kill too — are less than the lookback apart. Every leader with
    a recorded trade was primary at some refresh; no deferred signal is left waiting past its
    due time;
(d) every open position has SUBMITTED stop orders for its whole size, each resting at the venue
    (`open_orders()`, on a copy of its file at the end time) on the closing side, and no
    closed position has one (an exit sends its close before cancelling the stop: a kill
    between the two leaves the cancel to the next start);
(e) `tailgate doctor` exits 0.

Between the kills and the checks: the run to the end goes in clean pieces shorter than a leader
refresh interval (so every refresh is observed, for c), then one more start at the end — the
venue kept going between our last look and the stop (a stop can fire in the final mids()), and
reconciling that is the next start's job, as after any stop of ours.

The kill moments are seeded; the timing itself is wall-clock, so a run is not replayable step
for step — the assertions are invariants, true whatever the moments. Used by
`tests/integration/test_chaos.py` (CI) and `bench/chaos.py` (`make chaos`, more kills).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from unittest import mock

from tailgate.config import Settings, load_settings
from tailgate.domain.followers import ALL_LEADERS, Follower, Subscription
from tailgate.domain.models import MS_PER_HOUR, Side, Tier
from tailgate.engine.ingestion import POLL_LOOKBACK_MS
from tailgate.engine.sim_session import build_world
from tailgate.store import Store
from tailgate.store.db import current_revision, head_revision
from tailgate.store.records import OrderPurpose, OrderRecord, OrderState, PositionStatus
from tailgate.venues.sim import SimVenue, SimWorld

__all__ = ["BUSY_SETTINGS", "ChaosConfig", "ChaosResult", "Life", "run_chaos"]

# Busier than the defaults, so that kills often land among orders: no copy delay, more
# leaders copied, more room, tight stops that trail and fire, short holding times.
BUSY_SETTINGS: Mapping[str, str] = {
    "TAILGATE_COPY_DELAY_MINUTES": "0",
    "TAILGATE_PRIMARY_COUNT": "40",
    "TAILGATE_MAX_TOTAL_POSITIONS": "15",
    "TAILGATE_MAX_TOTAL_EXPOSURE": "2.0",
    "TAILGATE_MAX_EXPOSURE_PER_TOKEN": "0.3",
    "TAILGATE_STOP_LOSS_PERCENT": "1.5",
    "TAILGATE_TRAILING_STOP_PERCENT": "1.5",
    "TAILGATE_MAX_POSITION_DURATION_HOURS": "6",
    "TAILGATE_MIN_POSITION_WEIGHT": "0.02",
    "TAILGATE_MIN_TRADE_WEIGHT": "0.01",
    "TAILGATE_MIN_TRADE_VALUE_DEFAULT_USD": "1000",
    "TAILGATE_MIN_TRADE_VALUE_USD": '{"BTC": 5000, "ETH": 2500, "SOL": 1000}',
}
# While killing, at most this many simulated seconds per real second: a life lasts at most
# startup + max kill delay, so it spans well under one refresh interval (c needs every refresh
# observed between two lives).
MAX_PACE = 8 * 3600.0
MIN_PACE = 0.5 * 3600.0
DEFAULT_STARTUP_S = 2.5  # spawn to `engine_started`, until measured
STARTED_EVENT = b'"event": "engine_started"'
ORDER_EVENT = b'"event": "order_done"'
LEFT_BEHIND = ("orders_settled", "entries_resumed", "open_obligations")  # from engine_started
# what a start does about work a kill interrupted (counted from the lives' logs)
RECOVERY_EVENTS = ("order_expired_on_restart", "order_expired_unsent", "entry_resumed")
POLL_S = 0.02
FAST_POLL_S = 0.001  # watching for an order to kill right after it
ORDERS_BEFORE_KILL = 3  # an order kill comes after the 1st..3rd order done in its life
ORDER_KILL_LAG_S = 0.01  # and up to this long after it (none by the max delay: killed then)


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    workdir: Path
    kills: int = 50
    seed: int = 1  # kill moments
    sim_seed: int = 7
    hours_per_kill: float = 5.0  # the simulated span is kills x this
    kill_after_s: tuple[float, float] = (0.2, 2.5)  # after `engine_started`
    startup_kill_share: float = 0.15  # lives killed during their startup
    order_kill_share: float = 0.35  # lives killed right after one of their orders
    segment_hours: float = 20.0  # the clean run to the end, in pieces shorter than a refresh
    settings: Mapping[str, str] = field(default_factory=lambda: dict(BUSY_SETTINGS))
    life_timeout_s: float = 300.0
    log_level: str = "INFO"
    # followers copying every leader (§E10): their venues are files beside the house's, and
    # every invariant below holds for each of them as for the house
    followers: tuple[Follower, ...] = (
        Follower("follower-1", signer="0xf011", capital_usd=50_000, max_order_usd=5_000),
    )
    follower_ratio: float = 0.02


@dataclass(slots=True)
class Life:
    index: int
    kind: str  # "kill", "order-kill", "startup-kill"; "segment", "settle" (clean)
    until_ms: int
    pace: float | None
    startup_s: float | None = None  # spawn to `engine_started`; None: never got there
    sim_start_ms: int | None = None
    ran_s: float = 0.0
    returncode: int | None = None
    left_behind: dict[str, int] = field(default_factory=dict)  # what its start found unfinished
    recovered: Counter[str] = field(default_factory=Counter)  # RECOVERY_EVENTS in its log

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


@dataclass(slots=True)
class ChaosResult:
    config: ChaosConfig
    start_ms: int
    until_ms: int
    lives: list[Life] = field(default_factory=list)
    refreshes: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    doctor_output: str = ""
    wall_s: float = 0.0

    @property
    def kills(self) -> int:
        return sum(life.killed for life in self.lives)

    def life_at(self, time_ms: int) -> str:
        """The life whose simulated span holds `time_ms` (by the lives' start times)."""
        found = None
        for life in self.lives:
            if life.sim_start_ms is not None and life.sim_start_ms <= time_ms:
                found = life
        return "before the first start" if found is None else f"life {found.index} ({found.kind})"

    def summary(self) -> str:
        startups = [x.startup_s for x in self.lives if x.startup_s is not None]
        kinds = Counter(life.kind for life in self.lives)
        span_h = (self.until_ms - self.start_ms) / MS_PER_HOUR
        lines = [
            f"chaos: {self.kills} SIGKILLs in {len(self.lives)} lives "
            f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
            f"wall {self.wall_s:.0f} s, workdir {self.config.workdir}",
            f"simulated span {span_h:.0f} h ({span_h / 24:.1f} days), seed {self.config.seed}, "
            f"sim seed {self.config.sim_seed}, leader refreshes {len(self.refreshes)}",
        ]
        if startups:
            lines.append(
                f"startup (spawn to engine_started): median {statistics.median(startups):.2f} s, "
                f"max {max(startups):.2f} s over {len(startups)} lives"
            )
        found = {key: sum(x.left_behind.get(key, 0) > 0 for x in self.lives) for key in LEFT_BEHIND}
        recovered: Counter[str] = Counter()
        for x in self.lives:
            recovered.update(x.recovered)
        lines.append(
            "starts that found work left unfinished: "
            + ", ".join(f"{n} with {key.replace('_', ' ')}" for key, n in found.items())
            + "; recovery events: "
            + ", ".join(f"{key} {recovered[key]}" for key in RECOVERY_EVENTS)
        )
        lines.append(", ".join(f"{k} {v}" for k, v in self.counts.items()))
        if self.violations:
            lines.append(f"VIOLATIONS ({len(self.violations)}):")
            lines += [f"  - {v}" for v in self.violations]
        else:
            lines.append("every invariant holds; doctor exit 0")
        return "\n".join(lines)


def run_chaos(config: ChaosConfig) -> ChaosResult:
    """Kill, restart, finish, check. The workdir keeps the databases and every life's logs."""
    began = time.perf_counter()
    work = config.workdir
    work.mkdir(parents=True, exist_ok=True)
    engine_db, venue_db = work / "engine.db", work / "venue.db"
    span_ms = int(config.kills * config.hours_per_kill * MS_PER_HOUR)
    days = span_ms / (24 * MS_PER_HOUR)
    runner = _Runner(config, engine_db, venue_db, days)
    with mock.patch.dict(os.environ, runner.env, clear=True):
        settings = load_settings()  # exactly what every life loads
    world = build_world(settings, days)  # what every life builds from the same --days
    start_ms = world.config.start_ms
    result = runner.result = ChaosResult(config, start_ms, start_ms + span_ms)
    rng = random.Random(config.seed)
    if config.followers:
        store = Store.open(f"sqlite:///{engine_db}")  # creates the schema, as a life would
        for follower in config.followers:
            store.save_follower(follower, start_ms)
            store.save_subscription(
                Subscription(follower.account, ALL_LEADERS, config.follower_ratio), start_ms
            )
        store.close()

    while result.kills < config.kills:
        now_ms = _venue_time(world, venue_db, settings) or start_ms
        left = config.kills - result.kills
        wanted = (result.until_ms - now_ms) / 1000 / left / statistics.fmean(config.kill_after_s)
        pace = min(MAX_PACE, max(MIN_PACE, wanted))
        runner.kill_one(rng, pace)
        runner.observe_refresh()

    while True:  # to the end in clean pieces, each shorter than a leader refresh interval
        now_ms = max(_venue_time(world, venue_db, settings) or start_ms, _clock(engine_db))
        piece_end = min(result.until_ms, now_ms + int(config.segment_hours * MS_PER_HOUR))
        runner.run_clean("segment", piece_end)
        runner.observe_refresh()
        if piece_end >= result.until_ms:
            break
    runner.run_clean("settle", result.until_ms)
    runner.observe_refresh()

    _check(result, world, engine_db, venue_db, settings)
    result.doctor_output = runner.doctor()
    result.wall_s = time.perf_counter() - began
    return result


class _Runner:
    """Starts `tailgate run` lives, each with its own log files in the workdir."""

    result: ChaosResult

    def __init__(self, config: ChaosConfig, engine_db: Path, venue_db: Path, days: float) -> None:
        self.config = config
        self.engine_db = engine_db
        self.venue_db = venue_db
        self.days = days
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TAILGATE_")}
        self.env.update(config.settings)
        self.env.update(
            TAILGATE_CONFIG=str(config.workdir / "no-config.toml"),  # no tailgate.toml from cwd
            TAILGATE_DATABASE_URL=f"sqlite:///{engine_db}",
            TAILGATE_SIM_SEED=str(config.sim_seed),
            TAILGATE_SIM_MALFORMED_FILL_RATE="0",  # (c) compares every fill with the world's
            TAILGATE_LOG_LEVEL=config.log_level,
            TAILGATE_LOG_FORMAT="json",
            TAILGATE_WORKDIR=str(config.workdir),
        )

    def _spawn(self, life: Life) -> tuple[subprocess.Popen[bytes], _LogTail]:
        stem = self.config.workdir / f"life-{life.index:04d}-{life.kind}"
        log_file = stem.with_suffix(".jsonl")
        env = dict(self.env, TAILGATE_LOG_FILE=str(log_file))
        command = [
            sys.executable,
            "-m",
            "tailgate.interfaces.cli",
            "run",
            "--venue",
            "sim",
            "--days",
            repr(self.days),
            "--venue-state",
            str(self.venue_db),
            "--until-ms",
            str(life.until_ms),
        ]
        if life.pace is not None:
            command += ["--speed", repr(life.pace)]
        with stem.with_suffix(".out").open("wb") as out, stem.with_suffix(".err").open("wb") as err:
            began = time.perf_counter()
            proc = subprocess.Popen(
                command, env=env, cwd=self.config.workdir, stdout=out, stderr=err
            )
        return proc, _LogTail(log_file, began)

    def kill_one(self, rng: random.Random, pace: float) -> None:
        """One life, SIGKILLed at a seeded-random moment of one of three kinds: during its
        startup (settling what the last life left), right after one of its orders is done
        (the steps that follow a fill: position, stop, obligations), or at a random time."""
        draw = rng.random()
        kind = (
            "startup-kill"
            if draw < self.config.startup_kill_share
            else "order-kill"
            if draw < self.config.startup_kill_share + self.config.order_kill_share
            else "kill"
        )
        startup_guess = rng.uniform(0.6, 1.05) * self._typical_startup()
        delay = rng.uniform(*self.config.kill_after_s)
        nth_order = rng.randint(1, ORDERS_BEFORE_KILL)
        after_order_s = rng.uniform(0.0, ORDER_KILL_LAG_S)
        life = Life(len(self.result.lives), kind, self.result.until_ms, pace)
        self.result.lives.append(life)
        proc, tail = self._spawn(life)
        if kind == "startup-kill":
            self._wait(proc, tail, life, deadline=tail.began + startup_guess)
        elif self._wait(proc, tail, life, event=STARTED_EVENT):
            started = time.perf_counter()
            if kind == "kill":
                self._wait(proc, tail, life, deadline=started + delay)
            elif self._wait(
                proc,
                tail,
                life,
                event=ORDER_EVENT,
                count=nth_order,
                deadline=started + self.config.kill_after_s[1],
                poll_s=FAST_POLL_S,
            ):
                time.sleep(after_order_s)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        life.returncode = proc.wait()
        life.ran_s = time.perf_counter() - tail.began
        if life.kind == "startup-kill" and life.startup_s is not None:
            life.kind = "kill"  # it had started after all (its files keep their name)
        if not life.killed and life.returncode != 0:
            self.result.violations.append(
                f"life {life.index} exited {life.returncode} by itself (see {tail.path.stem}.err)"
            )

    def run_clean(self, kind: str, until_ms: int) -> None:
        life = Life(len(self.result.lives), kind, until_ms, None)
        self.result.lives.append(life)
        proc, tail = self._spawn(life)
        self._wait(proc, tail, life, event=STARTED_EVENT)
        try:
            life.returncode = proc.wait(timeout=self.config.life_timeout_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            life.returncode = proc.wait()
        life.ran_s = time.perf_counter() - tail.began
        tail.read(life)
        if life.returncode != 0:
            self.result.violations.append(
                f"life {life.index} ({kind}) exited {life.returncode} (see {tail.path.stem}.err)"
            )

    def _wait(
        self,
        proc: subprocess.Popen[bytes],
        tail: _LogTail,
        life: Life,
        *,
        event: bytes | None = None,
        count: int = 1,
        deadline: float | None = None,
        poll_s: float = POLL_S,
    ) -> bool:
        """Wait for the `count`-th new `event` line (True), until `deadline`, or until the
        process exits (False for both)."""
        seen = 0
        limit = tail.began + self.config.life_timeout_s
        while proc.poll() is None:
            new = tail.read(life)
            if event is not None:
                seen += sum(event in line for line in new)
                if seen >= count:
                    return True
            now = time.perf_counter()
            if now >= limit or (deadline is not None and now >= deadline):
                return False
            time.sleep(poll_s)
        tail.read(life)
        return False

    def _typical_startup(self) -> float:
        seen = [x.startup_s for x in self.result.lives if x.startup_s is not None]
        return statistics.median(seen) if seen else DEFAULT_STARTUP_S

    def observe_refresh(self) -> None:
        """Record the leader selection the store holds now (between lives: nothing runs)."""
        if not self.engine_db.exists():
            return
        store = Store.open(f"sqlite:///{self.engine_db}", migrate=False)
        try:
            if current_revision(store.engine) != head_revision():
                return
            refreshed = store.get_state("leaders_refreshed_ms")
            if refreshed is None:
                return
            if self.result.refreshes and self.result.refreshes[-1][0] == int(refreshed):
                return  # the first set seen with a refresh time is the one it selected
            primary = frozenset(t.address for t in store.load_leaders() if t.tier is Tier.PRIMARY)
            self.result.refreshes.append((int(refreshed), primary))
        finally:
            store.close()

    def doctor(self) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "tailgate.interfaces.cli", "doctor"],
            env=dict(self.env, TAILGATE_LOG_FILE=str(self.config.workdir / "doctor.jsonl")),
            cwd=self.config.workdir,
            capture_output=True,
            text=True,
            timeout=self.config.life_timeout_s,
        )
        if proc.returncode != 0:
            self.result.violations.append(
                f"(e) tailgate doctor exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc.stdout


class _LogTail:
    """A life's JSON log, read as it grows; notes when (and at what time) the engine started."""

    def __init__(self, path: Path, began: float) -> None:
        self.path = path
        self.began = began
        self._offset = 0
        self._partial = b""

    def read(self, life: Life) -> list[bytes]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            for event in RECOVERY_EVENTS:
                if b'"event": "%s"' % event.encode() in line:
                    life.recovered[event] += 1
        if life.startup_s is None:
            for line in lines:
                if STARTED_EVENT in line:
                    life.startup_s = time.perf_counter() - self.began
                    life.sim_start_ms = int(json.loads(line)["now_ms"])
                    life.left_behind = {k: int(json.loads(line)[k]) for k in LEFT_BEHIND}
                    break
        return lines


def _venue_time(world: SimWorld, venue_db: Path, settings: Settings) -> int | None:
    if not venue_db.exists():
        return None
    venue = _open_venue(world, venue_db, settings)
    try:
        return venue.last_time_ms
    finally:
        venue.close()


def _clock(engine_db: Path) -> int:
    """The store's clean-stop checkpoint (0 when there is none)."""
    if not engine_db.exists():
        return 0
    store = Store.open(f"sqlite:///{engine_db}", migrate=False)
    try:
        if current_revision(store.engine) != head_revision():
            return 0
        return int(store.get_state("clock_ms") or 0)
    finally:
        store.close()


def _open_venue(
    world: SimWorld, path: Path, settings: Settings, now_ms: int | None = None
) -> SimVenue:
    """The venue on its file; `now_ms` None: for its logs and last time only (never asked)."""
    return SimVenue(
        world,
        lambda: 0 if now_ms is None else now_ms,
        account_value=settings.paper_starting_balance_usd,
        state_path=path,
    )


def _check(
    result: ChaosResult, world: SimWorld, engine_db: Path, venue_db: Path, settings: Settings
) -> None:
    """Invariants (a)-(d) on the final store and a copy of the venue's file."""
    store = Store.open(f"sqlite:///{engine_db}", migrate=False)
    accounts = [(settings.paper_account, venue_db)] + [
        (f.account, venue_db.with_name(f"{venue_db.stem}.{f.account}{venue_db.suffix}"))
        for f in result.config.followers
    ]
    try:
        _check_leader_fills(result, world, store, settings)
        _check_fanout(result, store, settings.paper_account)
        for account, path in accounts:
            if not path.exists():
                result.violations.append(f"{account}: its venue file {path.name} was never made")
                continue
            copy = path.with_name(f"{path.stem}-checked.db")  # the evidence stays as it was
            with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
            venue = _open_venue(world, copy, settings, now_ms=result.until_ms)
            try:
                tag = "" if account == settings.paper_account else f"{account}:"
                _check_orders(result, venue, store, account, tag)
                _check_positions(result, venue, store, account, tag)
            finally:
                venue.close()
    finally:
        store.close()


def _check_orders(
    result: ChaosResult, venue: SimVenue, store: Store, account: str, tag: str
) -> None:
    bad = _Prefixed(result.violations, account)
    submissions = venue.submissions()
    sent = Counter(s.client_order_id for s in submissions)
    for cid, n in sorted(sent.items()):
        if n > 1:
            times = [s.time_ms for s in submissions if s.client_order_id == cid]
            bad.append(
                f"(a) client order id {cid} sent {n} times, at "
                + ", ".join(f"{t} ({result.life_at(t)})" for t in times)
            )
    orders = store.load_orders(account=account)
    by_id = {o.id: o for o in orders}
    by_cid = {o.client_order_id: o for o in orders}
    fills = {f.fill_id: f for f in store.load_fills() if f.order_id in by_id}
    venue_fills = venue.venue_fills()
    for vf in venue_fills:
        ours = fills.get(vf.fill_id)
        if ours is None:
            order = by_cid.get(vf.client_order_id)
            state = "no order row" if order is None else f"order {order.id} {order.state.value}"
            bad.append(
                f"(b) venue fill {vf.fill_id} of {vf.client_order_id} ({vf.coin} {vf.size:g} @ "
                f"{vf.price:g}, t={vf.time_ms}, {result.life_at(vf.time_ms)}) has no fill row; "
                f"{state}"
            )
            continue
        order = by_id.get(ours.order_id)
        if order is None or order.client_order_id != vf.client_order_id:
            bad.append(
                f"(b) fill {vf.fill_id} belongs to {vf.client_order_id} at the venue, to "
                f"{None if order is None else order.client_order_id} in the store"
            )
        elif abs(ours.size - vf.size) > 1e-9 or abs(ours.price - vf.price) > 1e-9:
            bad.append(f"(b) fill {vf.fill_id}: store {ours.size}@{ours.price}, venue {vf}")
    extra = set(fills) - {vf.fill_id for vf in venue_fills}
    if extra:
        bad.append(f"(b) {len(extra)} fill rows the venue never made: {sorted(extra)[:5]}")
    never_sent = [
        o
        for o in orders
        if o.client_order_id not in sent and o.filled_size > 0  # filled without being sent?
    ]
    for o in never_sent:
        bad.append(f"(b) order {o.client_order_id} has fills but never reached the venue")

    entries = Counter(
        o.leader_trade_id
        for o in orders
        if o.purpose is OrderPurpose.ENTRY and o.leader_trade_id is not None
    )
    for trade_id, n in sorted(entries.items()):
        if n > 1:
            bad.append(f"(c) leader trade #{trade_id} has {n} entry orders")
    purposes = Counter(f"{o.purpose.value}:{o.state.value}" for o in orders)
    counts = {
        "orders": len(orders),
        **{k.replace(":", "_"): v for k, v in sorted(purposes.items())},
        "venue_submissions": len(submissions),
        "venue_fills": len(venue_fills),
        "fill_rows": len(fills),
    }
    result.counts.update({tag + k: v for k, v in counts.items()})


def _check_leader_fills(
    result: ChaosResult, world: SimWorld, store: Store, settings: Settings
) -> None:
    bad = result.violations
    poll_ms = int(settings.poll_interval_trades_sec * 1000)
    refresh_ms = int(settings.leader_refresh_interval_hours * MS_PER_HOUR)
    refreshes = result.refreshes
    if not refreshes:
        bad.append("(c) no leader refresh was ever recorded")
        return
    for (r0, _), (r1, _) in pairwise(refreshes):
        if r1 - r0 >= 2 * refresh_ms:  # a refresh between two lives went unseen
            bad.append(f"(c) harness: refreshes at {r0} and {r1}: one in between was not seen")
    oracle = SimVenue(world, lambda: result.until_ms)  # the world's fills, as the feed serves
    checked_fills = 0
    polled: set[str] = set()
    for k, (refreshed, primary) in enumerate(refreshes):
        hi = (refreshes[k + 1][0] if k + 1 < len(refreshes) else result.until_ms) - poll_ms
        lo = refreshed + poll_ms - POLL_LOOKBACK_MS  # the first poll after R is within poll_ms
        polled |= primary
        for leader in sorted(primary):
            page = asyncio.run(oracle.leader_fills(leader, lo, hi + 1))
            keys = {f.dedupe_key: f.time_ms for f in page.fills}
            checked_fills += len(keys)
            missing = set(keys) - store.seen_fill_keys(keys)
            for key in sorted(missing, key=keys.__getitem__)[:5]:
                bad.append(
                    f"(c) leader fill {key} at {keys[key]} ({result.life_at(keys[key])}) was "
                    f"never recorded (primary since the refresh at {refreshed})"
                )
            if len(missing) > 5:
                bad.append(f"(c) ... {len(missing) - 5} more fills of {leader} not recorded")
    recorded = {t.leader for t in store.load_leader_trades()}
    if recorded - polled:
        bad.append(f"(c) trades recorded of leaders never primary: {sorted(recorded - polled)}")
    deferred_ms = int(settings.deferred_check_interval_sec * 1000)
    for d in store.load_pending_deferred():
        if d.due_ms <= result.until_ms - deferred_ms:
            bad.append(f"(c) deferred signal {d.signal_id} due {d.due_ms} is still waiting")
    result.counts.update(
        leader_trades=len(store.load_leader_trades()), leader_fills_verified=checked_fills
    )


def _check_fanout(result: ChaosResult, store: Store, house: str) -> None:
    """Every trade the house copied (an entry intent, whatever became of it) fanned out to
    every follower: the intents are written in one transaction, a kill cannot split them."""
    entries: dict[str, set[int]] = defaultdict(set)
    for o in store.load_orders():
        if o.purpose is OrderPurpose.ENTRY and o.leader_trade_id is not None:
            entries[o.account].add(o.leader_trade_id)
    for follower in result.config.followers:
        lost = entries[house] - entries[follower.account]
        if lost:
            result.violations.append(
                f"(c) {len(lost)} trades the house copied have no intent of "
                f"{follower.account}: {sorted(lost)[:5]}"
            )
    result.counts.update(
        {f"{f.account}:entries": len(entries[f.account]) for f in result.config.followers}
    )


def _check_positions(
    result: ChaosResult, venue: SimVenue, store: Store, account: str, tag: str
) -> None:
    bad = _Prefixed(result.violations, account)
    positions = store.load_positions(status=PositionStatus.OPEN, account=account)
    made = len(venue.venue_fills())
    resting = {o.client_order_id: o for o in asyncio.run(venue.open_orders())}
    snapshot = asyncio.run(venue.account_snapshot())
    if len(venue.venue_fills()) != made:  # the settle life saw the venue at the end already
        bad.append("(d) the venue filled stops at the end that the last start did not see")
    stops: dict[int, list[OrderRecord]] = defaultdict(list)
    for o in store.load_orders([OrderState.SUBMITTED], account=account):
        if o.purpose is OrderPurpose.STOP and o.position_id is not None:
            stops[o.position_id].append(o)
    submitted = {o.client_order_id for mine in stops.values() for o in mine}
    for cid in sorted(set(resting) - submitted):
        bad.append(f"(d) {resting[cid]} rests at the venue, not as a SUBMITTED stop in the store")
    open_ids = {p.id for p in positions}
    for position_id, mine in sorted(stops.items()):
        if position_id not in open_ids:  # an exit's close went first; its cancel must follow
            for o in mine:
                bad.append(f"(d) stop {o.client_order_id} still rests for closed #{position_id}")
    net: dict[str, float] = defaultdict(float)
    for p in positions:
        net[p.coin] += p.size if p.side is Side.LONG else -p.size
        mine = stops.get(p.id or -1, [])
        covered = sum(o.size for o in mine)
        if abs(covered - p.size) > 1e-9 * max(1.0, p.size):
            bad.append(f"(d) position #{p.id} {p.coin} {p.size:g}: stops for {covered:g}")
        for o in mine:
            at_venue = resting.get(o.client_order_id)
            if at_venue is None:
                bad.append(f"(d) stop {o.client_order_id} of #{p.id} is not resting at the venue")
            elif (
                abs(at_venue.size - o.size) > 1e-9 * max(1.0, o.size)
                or at_venue.coin != p.coin
                or at_venue.is_buy is (p.side is Side.LONG)  # a long's stop sells
            ):
                bad.append(f"(d) stop {o.client_order_id} of #{p.id}: venue {at_venue}, store {o}")
    holdings = {
        v.coin: v.size if v.side is Side.LONG else -v.size for v in snapshot.positions if v.size
    }
    for coin in sorted(set(net) | set(holdings)):
        ours, theirs = net.get(coin, 0.0), holdings.get(coin, 0.0)
        if abs(ours - theirs) > 1e-9 * max(1.0, abs(theirs)):
            bad.append(f"(b) {coin}: store positions net {ours:g}, venue position {theirs:g}")
    closed = store.load_positions(status=PositionStatus.CLOSED, account=account)
    counts = {
        "open_positions": len(positions),
        "closed_positions": len(closed),
        "resting_stops": len(resting),
    }
    result.counts.update({tag + k: v for k, v in counts.items()})


class _Prefixed:
    """A violation list that names the account each violation is about."""

    def __init__(self, found: list[str], account: str) -> None:
        self._found = found
        self._account = account

    def append(self, violation: str) -> None:
        self._found.append(f"[{self._account}] {violation}")
