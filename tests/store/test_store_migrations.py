"""Migrations, engines and connection settings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tailgate.store import Store, create_db_engine, default_database_url, upgrade_database
from tailgate.store.db import current_revision, head_revision, normalize_url, redacted_url
from tailgate.store.schema import metadata


def test_upgrade_creates_every_table_and_is_idempotent(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade_database(engine)
        upgrade_database(engine)  # already at head: a no-op
        upgrade_database(db_url)  # by URL too
        assert current_revision(engine) == head_revision() == "0004"
        tables = set(inspect(engine).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_declared_schema(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade_database(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    assert url == f"sqlite:///{tmp_path}/tailgate-data/tailgate.db"
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert (tmp_path / "tailgate-data").is_dir()  # parent directory created
    finally:
        engine.dispose()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    store = Store.open(default_database_url(tmp_path))
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"), store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO fills (order_id, fill_id, price, size, fee, time_ms) "
                    "VALUES (999, 'f', 1, 1, 0, 0)"
                )
            )
    finally:
        store.close()


def test_postgresql_urls_use_psycopg() -> None:
    assert normalize_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    engine = create_db_engine("postgresql://user:secret@db.invalid:5432/tailgate")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_password_never_rendered(caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql://user:s3cret-pw@db.invalid:5432/tailgate"
    assert "s3cret-pw" not in redacted_url(url)
    with caplog.at_level(logging.DEBUG, logger="tailgate"):
        engine = create_db_engine(url)
    try:
        assert "s3cret-pw" not in repr(Store(engine))
        assert "s3cret-pw" not in caplog.text
    finally:
        engine.dispose()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_db_engine("mysql://user:pw@h/db")


def test_a_0001_database_with_orders_upgrades_to_head_keeping_them(tmp_path):
    from alembic import command

    from tailgate.store.db import alembic_config

    url = f"sqlite:///{tmp_path}/old.db"
    command.upgrade(alembic_config(url), "0001")
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (client_order_id, account, coin, is_buy, size, limit_price, "
                "order_type, purpose, state, created_ms, updated_ms, reduce_only, filled_size, "
                "avg_price, fee) VALUES ('0xabc', 'paper', 'BTC', 1, 0.1, 100000, 'market', "
                "'entry', 'filled', 1, 1, 0, 0.1, 99990, 3.5)"
            )
        )
    engine.dispose()
    upgrade_database(url)
    store = Store.open(url)
    order = store.order_by_client_id("0xabc")
    store.close()
    assert order is not None and order.trigger_price is None and order.avg_price == 99990
