"""Backends for the store tests.

Every test taking `db_url` or `store` runs on SQLite (a WAL file under tmp_path) and, when
`TAILGATE_TEST_DATABASE_URL` names a PostgreSQL database, on PostgreSQL too. Each PostgreSQL
test gets a schema of its own (selected through `search_path`) that is dropped afterwards, so
tests never see each other's rows and may run in parallel on one database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tailgate.store import Store, create_db_engine, default_database_url

PG_URL_ENV = "TAILGATE_TEST_DATABASE_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(PG_URL_ENV), reason=f"set {PG_URL_ENV} to test PostgreSQL"
        ),
    ),
]


def _pg_schema_url(base_url: str, schema_name: str) -> str:
    url = make_url(base_url)
    options = " ".join(
        part for part in (url.query.get("options"), f"-csearch_path={schema_name}") if part
    )
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on the parametrised backend."""
    if request.param == "sqlite":
        yield default_database_url(tmp_path)
        return
    base_url = os.environ[PG_URL_ENV]
    schema_name = f"tg_test_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
        yield _pg_schema_url(base_url, schema_name)
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on the parametrised backend."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()
