"""The store: SQLAlchemy schema, Alembic migrations and the `Store` repository.

SQLite (WAL) is the embedded default, PostgreSQL the production option; the same tests run
against both. Nothing here connects or creates tables at import time: `Store.open(url)` does.
"""

from tailgate.store.db import (
    create_db_engine,
    current_revision,
    default_database_url,
    upgrade_database,
)
from tailgate.store.errors import (
    DeferredNotWaitingError,
    DuplicateOrderError,
    DuplicateTradeError,
    StoreError,
    UnknownAccountError,
)
from tailgate.store.repository import Store

__all__ = [
    "DeferredNotWaitingError",
    "DuplicateOrderError",
    "DuplicateTradeError",
    "Store",
    "StoreError",
    "UnknownAccountError",
    "create_db_engine",
    "current_revision",
    "default_database_url",
    "upgrade_database",
]
