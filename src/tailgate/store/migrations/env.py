"""Alembic environment: runs migrations on the connection `upgrade_database` hands over.

`tailgate.store.db.upgrade_database` puts an open connection (inside its transaction and
lock) in `config.attributes["connection"]`; without one — a developer autogenerating a
revision — an engine is built from the config's `sqlalchemy.url` with the same tuning the
engine uses. SQLite gets batch mode, because it can only alter a table by rebuilding it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tailgate.store.db import create_db_engine
from tailgate.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade --sql`) instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=bool(url and url.startswith("sqlite")),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection handed over and no sqlalchemy.url configured")
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
