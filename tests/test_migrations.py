"""The Alembic migrations build exactly the schema that store/meta.py declares."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from nbmlops.store import meta, migrate


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, url)
        with engine.connect() as conn:
            return compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), meta.metadata
            )
    finally:
        engine.dispose()


def test_head_constant_matches_the_scripts():
    assert migrate.script_head() == migrate.HEAD


def test_sqlite_schema_matches_metadata(tmp_path):
    assert _diff(f"sqlite:///{tmp_path}/m.db") == []


@pytest.mark.postgres
def test_postgres_schema_matches_metadata(pg_url):
    assert _diff(pg_url) == []
