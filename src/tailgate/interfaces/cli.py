"""`tailgate` command line: clear errors for user mistakes (no tracebacks), exit codes, --help."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tailgate.config import ConfigError, Settings, load_settings, redacted_dump
from tailgate.logs import configure_logging

if TYPE_CHECKING:  # imported lazily at run time: `--help` stays fast
    from tailgate.backtest.result import RunResult
    from tailgate.domain.models import Trader
    from tailgate.engine.hyperliquid_session import Endpoint
    from tailgate.engine.replay_session import ReplaySession
    from tailgate.engine.sim_session import SimSession
    from tailgate.venues.hyperliquid.keys import Signer
    from tailgate.venues.sim import SimWorld

__all__ = ["app", "main"]

app = typer.Typer(
    help="tailgate: copy proven traders, gate every trade. Paper mode is the default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
data_app = typer.Typer(help="Real market data: download it for backtests.", no_args_is_help=True)
app.add_typer(data_app, name="data")
followers_app = typer.Typer(
    help="Follower accounts that copy what the engine copies (SPEC §E10).", no_args_is_help=True
)
app.add_typer(followers_app, name="followers")
sim_app = typer.Typer(help="The simulator as a network service.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
# Piped output (CI logs, files) gets a fixed width rather than rich's 80-column fallback.
console = Console(width=None if sys.stdout.isatty() else 140)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Path to tailgate.toml.", show_default=False)
]


def _settings(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        for line in exc.lines:
            console.print(f"[red]{line}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _log_to(settings: Settings, default_file: Path | None) -> None:
    configure_logging(settings.log_level, settings.log_format, settings.log_file or default_file)


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=180, help="Simulated days to run.")] = 40,
    seed: Annotated[int | None, typer.Option(help="Simulator seed.")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the whole system on the embedded simulator and explain what happened."""
    from tailgate.engine.sim_session import run_sim_session
    from tailgate.interfaces.render import render_summary
    from tailgate.interfaces.summary import summarize

    settings = _settings(config, sim_seed=seed)
    data_dir = settings.workdir / "tailgate-data"
    demo_db = data_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo_db}{suffix}").unlink(missing_ok=True)
    log_file = data_dir / "demo.log"
    log_file.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite:///{demo_db.resolve()}"})
    _log_to(settings, log_file)
    console.print(
        f"[bold]tailgate demo[/bold]: {days} simulated days of copy trading in paper mode on the "
        f"embedded simulator (seed {settings.sim_seed}).\n"
        "The simulator has 200+ leaders with a hidden skill; tailgate does not see it. It ranks "
        "them from their public track record, copies the best, and gates every trade.\n"
    )
    with console.status("building the simulated market and running the engine…"):
        session = asyncio.run(run_sim_session(settings, days=days))
        marks = session.world.mids_at(session.end_ms)
        summary = summarize(session, marks)
    render_summary(console, summary, settings)
    from tailgate.backtest.report import render_terminal

    result = _result(session, settings)
    render_terminal(console, result.metrics, result.trades)
    console.print(f"fingerprint: {result.fingerprint}")
    session.store.close()
    console.print(f"\nstore: {demo_db}   decision log (JSON lines): {log_file}")


def _result(session: SimSession | ReplaySession, settings: Settings) -> RunResult:
    """The run's trades, equity, metrics and fingerprint, from its store."""
    from tailgate.backtest.result import run_result

    markets = {m.coin: m for m in asyncio.run(session.venue.markets())}
    return run_result(
        session.store,
        session.engine.portfolio.account,
        settings.paper_starting_balance_usd,
        markets,
    )


@app.command()
def run(
    venue: Annotated[str, typer.Option(help="Venue: sim (the embedded simulator).")] = "sim",
    days: Annotated[float, typer.Option(help="Simulated days to run (sim).")] = 30.0,
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per real second (sim); default: as fast as possible."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the store's last run.")] = True,
    venue_state: Annotated[
        Path | None,
        typer.Option(
            help="Keep the simulator's state in this file (sim): it outlives the process, "
            "like a real exchange, and a restart carries on from it.",
            show_default=False,
        ),
    ] = None,
    until_ms: Annotated[
        int | None,
        typer.Option(help="Absolute simulated end (epoch ms), kept across restarts.", hidden=True),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Hyperliquid API URL (hyperliquid), overriding hyperliquid_base_url and the "
            "network's; e.g. the emulator's http://127.0.0.1:8089.",
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help='Real orders (hyperliquid). Needs mode = "live" in the config too, and '
            "max_live_order_usd; without this flag every run is paper.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run the engine: paper mode unless live is armed (mode = "live" in the config, --live,
    and max_live_order_usd). Ctrl-C stops it gracefully."""
    from tailgate.engine.live_switches import RunMode, decide_run_mode, paper_settings
    from tailgate.engine.sim_session import run_sim_session
    from tailgate.interfaces.render import render_summary
    from tailgate.interfaces.summary import summarize

    settings = _settings(config, venue=venue, hyperliquid_base_url=base_url)
    decision = decide_run_mode(settings, live_flag=live)
    if decision.refused:  # before any connection, any key read
        console.print(f"[red]live trading refused: {decision.refusal}[/red]", highlight=False)
        raise typer.Exit(2)
    if decision.warning:
        console.print(f"[yellow]{decision.warning}[/yellow]", highlight=False)
    _log_to(settings, None)
    if settings.venue == "hyperliquid":
        _run_hyperliquid(settings, live=decision.mode is RunMode.LIVE, resume=resume)
        return
    settings = paper_settings(settings)
    session = asyncio.run(
        run_sim_session(
            settings,
            days=days,
            resume=resume,
            pace=speed,
            venue_state=venue_state,
            until_ms=until_ms,
        )
    )
    summary = summarize(session, session.world.mids_at(session.end_ms))
    render_summary(console, summary, settings)
    console.print(f"fingerprint: {_result(session, settings).fingerprint}")
    session.store.close()


@app.command()
def backtest(
    fills: Annotated[
        Path | None, typer.Option(help="Real leader fills: a Hyperliquid CSV export or JSON.")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option(help="Folder of OHLCV CSV / candleSnapshot JSON files.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=180, help="Simulated days (simulator).")] = 60,
    seed: Annotated[int | None, typer.Option(help="Simulator seed.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report here.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics and trades as JSON here.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Replay history through the same engine as paper mode, then report (§B).

    Without --fills/--prices the simulator is replayed; with them, real history (formats:
    docs/import-formats.md), over the span the price bars cover.
    """
    import tempfile

    from rich.progress import Progress

    from tailgate.backtest.data import DataImportError
    from tailgate.backtest.report import metrics_to_json, render_terminal
    from tailgate.config import Mode
    from tailgate.engine.replay_session import run_replay_session
    from tailgate.engine.sim_session import run_sim_session

    if (fills is None) != (prices is None):
        console.print("[red]--fills and --prices go together: give both, or neither[/red]")
        raise typer.Exit(2)
    settings = _settings(config, sim_seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings.model_copy(
            update={"mode": Mode.BACKTEST, "database_url": f"sqlite:///{tmp}/backtest.db"}
        )
        _log_to(settings, Path(tmp) / "backtest.log" if settings.log_file is None else None)
        title = f"simulator seed {settings.sim_seed}, {days} days"
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("replaying", total=1.0)

            def progress(fraction: float) -> None:
                bar.update(task, completed=fraction)

            try:
                if fills is not None and prices is not None:
                    title = f"{fills.name} against {prices}"
                    session = asyncio.run(
                        run_replay_session(settings, fills=fills, prices=prices, progress=progress)
                    )
                    for import_report in session.reports:
                        console.print(f"import: {import_report.summary()}", highlight=False)
                else:
                    session = asyncio.run(
                        run_sim_session(settings, days=days, progress=progress)  # type: ignore[assignment]
                    )
            except (DataImportError, FileNotFoundError, ValueError) as exc:
                console.print(f"[red]cannot replay: {exc}[/red]")
                raise typer.Exit(2) from None
        result = _result(session, settings)
        scored = session.store.load_leaders()
        session.store.close()
    primary = sum(t.tier.value == "primary" for t in scored)
    console.print(
        f"replayed {session.simulated_days:.1f} days in {session.wall_seconds:.1f} s; "
        f"{len(scored)} leaders scored, {primary} primary at the end"
    )
    if fills is not None:  # few leaders in a real file: say how each one was judged
        from tailgate.interfaces.render import render_leaders

        render_leaders(console, scored, None, limit=20)
    render_terminal(console, result.metrics, result.trades)
    console.print(f"fingerprint: {result.fingerprint}")
    if json_out is not None:
        data = metrics_to_json(result.metrics, result.trades, result.equity)
        data["fingerprint"] = result.fingerprint
        json_out.write_text(json.dumps(data, indent=2), encoding="utf-8")
        console.print(f"JSON written to {json_out}")
    if report is not None:
        from tailgate.backtest.report import ReportUnavailableError, write_html_report

        try:
            write_html_report(
                report,
                result.metrics,
                result.trades,
                result.equity,
                title=f"tailgate backtest — {title}",
                fingerprint=result.fingerprint,
            )
        except ReportUnavailableError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        console.print(f"report written to {report}")


@app.command()
def leaders(
    stored: Annotated[bool, typer.Option(help="Show the leaders saved by the last run.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 40,
    config: ConfigOption = None,
) -> None:
    """Score and rank leaders (on the simulator, at its start), or show the stored ones."""
    from tailgate.interfaces.render import render_leaders
    from tailgate.store import Store

    settings = _settings(config)
    _log_to(settings, settings.workdir / "tailgate-data" / "tailgate.log")
    if stored:
        store = Store.open(settings.resolved_database_url())
        traders = store.load_leaders()
        store.close()
        if not traders:
            console.print("no leaders stored yet: run `tailgate demo` or `tailgate run` first")
            raise typer.Exit(1)
        render_leaders(console, traders, None, limit)
        return
    traders, world = asyncio.run(_score_sim_leaders(settings))
    render_leaders(console, traders, world, limit)


async def _score_sim_leaders(settings: Settings) -> tuple[list[Trader], SimWorld]:
    import tempfile

    from tailgate.engine.leaders import LeaderBook
    from tailgate.engine.sim_session import build_world
    from tailgate.store import Store
    from tailgate.venues.sim import SimVenue

    world = build_world(settings, 1)
    now = world.config.start_ms
    venue = SimVenue(world, lambda: now)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/leaders.db")
        book = LeaderBook(venue, store, settings.copy_params(), world.coins)
        await book.refresh(now)
        store.close()
    return list(book.traders.values()), world


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Is it safe to trade? Checks config, database, orders and stops; exit 0 only when safe."""
    import time

    from rich.table import Table

    from tailgate.engine.doctor import Finding, diagnose
    from tailgate.store import Store

    settings = _settings(config)  # a config problem exits 2 with its lines
    from sqlalchemy.engine import make_url

    findings = [Finding("configuration is valid", True, "loaded")]
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        findings.append(
            Finding("store exists", False, f"no store at {url.database}: nothing has run here yet")
        )
    else:
        store = Store.open(settings.resolved_database_url(), migrate=False)
        try:
            findings += diagnose(store, time.time_ns() // 1_000_000)
        finally:
            store.close()
    table = Table(title="tailgate doctor")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail")
    for f in findings:
        table.add_row(f.check, "[green]ok[/green]" if f.ok else "[red]PROBLEM[/red]", f.detail)
    console.print(table)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


@app.command()
def kill(
    switch: Annotated[str, typer.Argument(help="on: no new entries; off: entries resume.")],
    config: ConfigOption = None,
) -> None:
    """The kill switch (SPEC §E4): stop new entries now, in every running engine on this
    store, without a restart. Exits and protective stops keep working."""
    import time

    from tailgate.engine.guardrails import KILL_SWITCH_KEY
    from tailgate.store import Store

    if switch not in ("on", "off"):
        console.print("[red]say `tailgate kill on` or `tailgate kill off`[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    store = Store.open(settings.resolved_database_url())
    try:
        store.set_state(KILL_SWITCH_KEY, switch == "on", time.time_ns() // 1_000_000)
    finally:
        store.close()
    if switch == "on":
        console.print("kill switch [red]ON[/red]: no new entries; exits and stops still work")
    else:
        console.print("kill switch [green]off[/green]: entries resume")
        if settings.kill_switch:
            console.print(
                "[yellow]but kill_switch = true in the config still blocks entries[/yellow]"
            )


@app.command()
def reconcile(
    venue: Annotated[str, typer.Option(help="Venue: sim (the embedded simulator).")] = "sim",
    venue_state: Annotated[
        Path | None,
        typer.Option(help="The simulator's state file (as given to `run`).", show_default=False),
    ] = None,
    days: Annotated[float, typer.Option(help="The sim world's days (as given to `run`).")] = 30.0,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="The venue is right: adopt its state and lift the accounts' halts.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Reconcile every account with the venue now (SPEC §R1): exit 0 when all agree or were
    repaired and none is halted."""
    from rich.table import Table

    from tailgate.engine.clock import SimClock
    from tailgate.engine.reconcile_session import reconcile_by_hand
    from tailgate.engine.sim_session import SimFollowerVenues, build_world
    from tailgate.store import Store
    from tailgate.venues.sim import SimVenue

    settings = _settings(config, venue=venue)
    if settings.venue != "sim":
        console.print(f"[red]venue '{settings.venue}' is not available yet; use --venue sim[/red]")
        raise typer.Exit(2)
    if venue_state is None or not venue_state.exists():
        console.print(
            "[red]the simulator keeps an account between runs only in a state file: "
            "give the --venue-state that `tailgate run` used[/red]"
        )
        raise typer.Exit(2)
    _log_to(settings, None)
    store = Store.open(settings.resolved_database_url())
    world = build_world(settings, days)
    now = [world.config.start_ms]
    sim = SimVenue(
        world,
        lambda: now[0],
        account_value=settings.paper_starting_balance_usd,
        state_path=venue_state,
    )
    now[0] = max(sim.last_time_ms or 0, int(store.get_state("clock_ms") or 0), now[0])
    followers = SimFollowerVenues(world, lambda: now[0], store, resume=True, state_path=venue_state)
    try:
        results = asyncio.run(
            reconcile_by_hand(
                settings,
                SimClock(now[0], now[0]),
                sim,
                store,
                follower_venue=followers,
                resume=resume,
            )
        )
    finally:
        sim.close()
        followers.close()
        store.close()
    table = Table("account", "result", "drifts", "repaired", "halted")
    for r in results:
        if r.report is None:
            table.add_row(r.account, f"[red]not completed: {r.error}[/red]", "-", "-", "-")
            continue
        kinds = ", ".join(sorted({d.kind.value for d in r.report.drifts})) or "-"
        table.add_row(
            r.account,
            "agrees" if r.report.clean else "drift",
            kinds,
            str(r.report.repaired),
            "[red]yes[/red]" if r.halted else "no",
        )
    console.print(table)
    if any(r.report is None or r.halted for r in results):
        raise typer.Exit(1)


def _run_hyperliquid(settings: Settings, *, live: bool, resume: bool) -> None:
    """Hyperliquid's feed (the venue, or the emulator) on the wall clock: paper, or live when
    `decide_run_mode` armed it (then the key is loaded and the banner shown first)."""
    from tailgate.engine.clock import WallClock
    from tailgate.engine.hyperliquid_session import (
        NoCollateral,
        resolve_endpoint,
        run_hyperliquid,
    )
    from tailgate.store import Store
    from tailgate.transport import TransportError

    endpoint = resolve_endpoint(settings)
    signer = _live_signer(settings) if live else None
    if signer is not None:
        _live_banner(settings, endpoint, signer)
    else:
        console.print(
            f"paper mode on {endpoint.base_url} ({endpoint.network.value}): no order is sent; "
            "Ctrl-C stops it",
            highlight=False,
        )
    store = Store.open(settings.resolved_database_url())
    try:
        engine = asyncio.run(
            run_hyperliquid(settings, WallClock(), store, live=live, signer=signer, resume=resume)
        )
    except NoCollateral as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except TransportError as exc:  # at start: the venue (or the URL) cannot be reached
        console.print(f"[red]cannot reach {endpoint.base_url}: {exc}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(
        f"stopped: {engine.stats.trades_seen} leader trades seen, "
        f"{len(engine.portfolio.open_positions)} open positions"
    )


def _live_signer(settings: Settings) -> Signer:
    """The API wallet's signer, or exit 2 with the loader's message (never the key). A keystore
    without TAILGATE_HYPERLIQUID_KEYSTORE_PASSWORD asks for its password on a terminal."""
    import getpass

    from tailgate.venues.hyperliquid.keys import KeyLoadError, signer_from_settings

    prompt = getpass.getpass if sys.stdin.isatty() else None
    try:
        return signer_from_settings(settings, password_prompt=prompt)
    except KeyLoadError as exc:
        console.print(f"[red]cannot load the Hyperliquid key: {exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _live_banner(settings: Settings, endpoint: Endpoint, signer: Signer) -> None:
    from rich.panel import Panel

    assert settings.max_live_order_usd is not None
    cap = min(settings.max_order_usd, settings.max_live_order_usd)
    wallet = (
        f"API wallet {signer.agent_address}"
        if signer.is_agent
        else "[bold]the account's own key[/bold] (an API wallet is safer: it cannot withdraw)"
    )
    lines = [
        "[bold]LIVE TRADING: real orders, real money[/bold]",
        f"network        {endpoint.network.value}  ({endpoint.base_url})",
        f"account        {signer.account_address}",
        f"signed by      {wallet}",
        f"max live order ${cap:,.2f} per entry (max_live_order_usd, max_order_usd)",
        f"margin         isolated, leverage <= {settings.max_leverage:g}x",
        "stop new entries at once: `tailgate kill on` (exits and stops keep working)",
    ]
    console.print(
        Panel("\n".join(lines), title="tailgate LIVE", border_style="bold red", expand=False),
        highlight=False,
    )


@sim_app.command("serve")
def sim_serve(
    venue: Annotated[str, typer.Option(help="Protocol to speak: hyperliquid.")] = "hyperliquid",
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free one).")] = 8089,
    days: Annotated[float, typer.Option(help="Simulated days to generate.")] = 30.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    account: Annotated[
        list[str] | None,
        typer.Option(help="A trading account ADDRESS or ADDRESS:AGENT (repeatable)."),
    ] = None,
    faults: Annotated[
        float, typer.Option(help="Share of requests and messages made faulty (0-1).")
    ] = 0.0,
    testnet: Annotated[bool, typer.Option(help="Verify signatures as testnet.")] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the simulator through a Hyperliquid-compatible `/info`, `/exchange` (signatures
    verified like the venue) and WebSocket on 127.0.0.1, with optional fault injection."""
    import time
    from dataclasses import replace

    from tailgate.engine.clock import WallClock
    from tailgate.engine.sim_session import build_world
    from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
    from tailgate.venues.hyperliquid.signing import Network, recover_signer
    from tailgate.venues.sim import SimWorld

    if venue != "hyperliquid":
        console.print(f"[red]the emulator speaks hyperliquid only, not {venue!r}[/red]")
        raise typer.Exit(2)
    if not 0.0 <= faults <= 1.0:
        console.print("[red]--faults is a share between 0 and 1[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    _log_to(settings, None)
    world = build_world(settings, days)
    if speed == 1.0:  # in step with the wall clock, so a wall-clock engine can trade on it
        now = time.time_ns() // 1_000_000
        world = SimWorld(replace(world.config, start_ms=now - now % 60_000))
    start = time.time_ns() // 1_000_000 if speed == 1.0 else world.config.start_ms
    clock = WallClock(start, time.time(), speed)  # the world's time, `speed` times the wall's
    network = Network.TESTNET if testnet else Network.MAINNET
    emulated = EmulatedVenue(
        world,
        clock.now_ms,
        verify=lambda body: recover_signer(body, network=network),
        starting_balance_usd=settings.paper_starting_balance_usd,
    )
    for spec in account or []:
        master, _, agent = spec.partition(":")
        emulated.register(master, agent or None)

    async def main() -> None:
        runner, bound = await serve(
            emulated, FaultPlan.uniform(faults) if faults else None, port=port
        )
        console.print(
            f"emulated hyperliquid on http://127.0.0.1:{bound} (ws: /ws), world time "
            f"{world.config.start_ms} x{speed:g}; Ctrl-C stops it"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        console.print("emulator stopped")


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


@followers_app.command("add")
def followers_add(
    account: Annotated[str, typer.Argument(help="The follower's account name.")],
    signer: Annotated[str, typer.Option(help="Address of the key that signs its orders.")],
    capital: Annotated[float, typer.Option(help="Paper starting balance, USD.")],
    proxy: Annotated[
        str | None, typer.Option(help="Wallet its funds move through.", show_default=False)
    ] = None,
    max_order_usd: Annotated[float | None, typer.Option(show_default=False)] = None,
    daily_volume_cap_usd: Annotated[float | None, typer.Option(show_default=False)] = None,
    daily_loss_cap_usd: Annotated[float | None, typer.Option(show_default=False)] = None,
    disabled: Annotated[bool, typer.Option(help="Keep it, trade nothing for it.")] = False,
    config: ConfigOption = None,
) -> None:
    """Add (or change) a follower. Only addresses are stored here, never keys."""
    from tailgate.domain.followers import Follower
    from tailgate.store import Store

    try:
        follower = Follower(
            account,
            signer=signer,
            capital_usd=capital,
            proxy=proxy,
            max_order_usd=max_order_usd,
            daily_volume_cap_usd=daily_volume_cap_usd,
            daily_loss_cap_usd=daily_loss_cap_usd,
            enabled=not disabled,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    settings = _settings(config)
    if account == settings.paper_account:
        console.print(f"[red]{account!r} is the engine's own paper account: pick another[/red]")
        raise typer.Exit(2)
    store = Store.open(settings.resolved_database_url())
    try:
        store.save_follower(follower, _now_ms())
    finally:
        store.close()
    console.print(f"follower {account} saved ({'disabled' if disabled else 'enabled'})")


@followers_app.command("subscribe")
def followers_subscribe(
    account: Annotated[str, typer.Argument(help="The follower's account name.")],
    leader: Annotated[str, typer.Argument(help="Leader address, or '*' for every leader.")],
    ratio: Annotated[float, typer.Option(help="Share of the leader's notional to copy.")],
    max_order_usd: Annotated[float | None, typer.Option(show_default=False)] = None,
    disabled: Annotated[bool, typer.Option(help="Pause this subscription.")] = False,
    config: ConfigOption = None,
) -> None:
    """Subscribe a follower to a leader: it copies the trades the engine copies of them."""
    from tailgate.domain.followers import Subscription
    from tailgate.store import Store, UnknownAccountError

    try:
        sub = Subscription(account, leader, ratio, max_order_usd, enabled=not disabled)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    store = Store.open(_settings(config).resolved_database_url())
    try:
        store.save_subscription(sub, _now_ms())
    except UnknownAccountError:
        console.print(f"[red]no follower {account!r}: add it first (tailgate followers add)[/red]")
        raise typer.Exit(2) from None
    finally:
        store.close()
    console.print(f"{account} follows {leader} at ratio {ratio:g}")


@followers_app.command("list")
def followers_list(config: ConfigOption = None) -> None:
    """Followers and their subscriptions."""
    from rich.table import Table

    from tailgate.store import Store

    store = Store.open(_settings(config).resolved_database_url())
    try:
        followers, subs = store.load_followers(), store.load_subscriptions()
    finally:
        store.close()
    table = Table("account", "signer", "capital $", "max order $", "enabled", "follows")
    for f in followers:
        follows = ", ".join(
            f"{s.leader} x{s.ratio:g}" + ("" if s.enabled else " (paused)")
            for s in subs
            if s.follower == f.account
        )
        table.add_row(
            f.account,
            f.signer,
            f"{f.capital_usd:,.0f}",
            "-" if f.max_order_usd is None else f"{f.max_order_usd:,.0f}",
            "yes" if f.enabled else "no",
            follows or "-",
        )
    console.print(table)


@app.command("config")
def show_config(config: ConfigOption = None) -> None:
    """Print the effective configuration, secrets redacted."""
    settings = _settings(config)
    console.print_json(json.dumps(redacted_dump(settings)))


@data_app.command("fetch")
def data_fetch(
    venue: Annotated[str, typer.Argument(help="Venue to download from: hyperliquid.")],
    leader: Annotated[
        str | None, typer.Option(help="Leader address whose fills to download.")
    ] = None,
    coins: Annotated[str, typer.Option(help="Comma-separated coins for candles.")] = "BTC",
    days: Annotated[float, typer.Option(min=0.01, max=365, help="How far back.")] = 7.0,
    interval: Annotated[str, typer.Option(help="Candle interval: 1m, 5m, 15m, 1h, 4h, 1d.")] = "1m",
    out: Annotated[Path, typer.Option(help="Folder to write fills/ and prices/ into.")] = Path(
        "tailgate-data/history"
    ),
    base_url: Annotated[str | None, typer.Option(help="API base URL (default mainnet).")] = None,
) -> None:
    """Download fills and candles from the public API (needs internet) in importable formats."""
    from tailgate.backtest.fetch import MAINNET_URL, FetchError, HyperliquidHistory

    if venue != "hyperliquid":
        console.print(f"[red]unknown venue '{venue}': only hyperliquid can be fetched[/red]")
        raise typer.Exit(2)
    if leader is not None and not (leader.startswith("0x") and len(leader) == 42):
        console.print(f"[red]--leader must be a 0x address of 40 hex digits, got {leader!r}[/red]")
        raise typer.Exit(2)
    history = HyperliquidHistory(base_url or MAINNET_URL)
    try:
        results = history.fetch(
            out,
            leader=leader,
            coins=[c.strip().upper() for c in coins.split(",") if c.strip()],
            days=days,
            interval=interval,
        )
    except FetchError as exc:
        console.print(f"[red]fetch failed: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        history.close()
    for r in results:
        console.print(f"{r.items:>8} items in {r.requests} requests → {r.path}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply database migrations (they also run automatically on start)."""
    from sqlalchemy.engine import make_url

    from tailgate.store import upgrade_database

    settings = _settings(config)
    url = settings.resolved_database_url()
    upgrade_database(url)
    console.print(f"database at head: {make_url(url).render_as_string(hide_password=True)}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
