"""Engines and migrations: the only place that knows how to connect to each backend.

SQLite is the embedded default and is tuned for one engine process with readers beside it
(a dashboard, `tailgate doctor`): WAL so readers never block the writer, `synchronous=NORMAL`
(durable at checkpoints, fast commits — WAL keeps the file consistent on a crash), foreign
keys on (off by default in SQLite), and a busy timeout so a second writer waits instead of
failing. The pysqlite driver's own transaction handling is switched off so that SQLAlchemy's
BEGIN is a real SQLite BEGIN: every `Store` method is then exactly one SQLite transaction.

PostgreSQL is reached through psycopg 3; a bare `postgresql://` URL is rewritten for it.

Migrations run programmatically from the migrations directory inside the package, so an
installed wheel can upgrade its database without an `alembic.ini`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url

__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BEGIN_OPTION",
    "SQLITE_NO_BEGIN",
    "alembic_config",
    "create_db_engine",
    "current_revision",
    "default_database_url",
    "head_revision",
    "normalize_url",
    "redacted_url",
    "upgrade_database",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DATA_DIR_NAME = "tailgate-data"
DB_FILE_NAME = "tailgate.db"

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option read by the SQLite `begin` hook: "IMMEDIATE" takes the write lock at BEGIN,
# so a transaction that reads before it writes cannot fail half-way with SQLITE_BUSY;
# SQLITE_NO_BEGIN runs each statement in its own implicit transaction (single-statement reads).
SQLITE_BEGIN_OPTION = "tailgate_sqlite_begin"
SQLITE_NO_BEGIN = "none"
# Serialises concurrent `upgrade_database` calls on one PostgreSQL database (arbitrary key).
_PG_MIGRATION_LOCK_KEY = 0x7A11_6A7E


def normalize_url(url: str | URL) -> URL:
    """Parse `url`; `postgresql://` and `postgres://` become `postgresql+psycopg://`."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redacted_url(url: str | URL) -> str:
    """The URL as it may appear in logs and errors: the password is masked."""
    return make_url(url).render_as_string(hide_password=True)


def default_database_url(workdir: Path) -> str:
    """The embedded default: a SQLite file under `<workdir>/tailgate-data/`."""
    return f"sqlite:///{Path(workdir) / DATA_DIR_NAME / DB_FILE_NAME}"


def create_db_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """An engine for `url`, tuned for its backend (see the module docstring).

    For a SQLite file, its parent directory is created when missing.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, **engine_kwargs)
    elif backend == "postgresql":
        engine_kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **engine_kwargs)
    else:
        raise ValueError(
            f"unsupported database {redacted_url(parsed)!r}: use sqlite:/// or postgresql://"
        )
    log.debug("database engine created for %s", redacted_url(parsed))
    return engine


def _sqlite_engine(url: URL, **engine_kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **engine_kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook issue BEGIN instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        if mode != SQLITE_NO_BEGIN:
            # straight to the driver: this runs once per transaction, on the hot path
            conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]

    return engine


# --- migrations ------------------------------------------------------------------------------


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config pointing at the package's migrations; no `alembic.ini` needed.

    `url` is only used when no connection is handed over in `config.attributes["connection"]`
    (e.g. by a developer running `command.revision(cfg, autogenerate=True)`).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        rendered = normalize_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_database(url_or_engine: str | URL | Engine) -> None:
    """Run `alembic upgrade head`; a no-op when the database is already at head.

    The whole upgrade runs in one transaction (both backends have transactional DDL), under a
    lock, so two processes starting at once cannot both create the tables.
    """
    own_engine = not isinstance(url_or_engine, Engine)
    engine = create_db_engine(url_or_engine) if own_engine else url_or_engine
    try:
        cfg = alembic_config()
        locked = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with locked.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        log.info("database %s at revision %s", redacted_url(engine.url), current_revision(engine))
    finally:
        if own_engine:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
