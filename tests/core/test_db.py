"""The embedded database is configured for durability and integrity on every live connection."""

import pytest
from django.db import connection

from tests.conftest import on_postgres


@pytest.mark.skipif(on_postgres(), reason="SQLite-only connection settings")
@pytest.mark.django_db
def test_sqlite_connection_pragmas_are_live() -> None:
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == 20000


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only")
@pytest.mark.django_db
def test_postgres_is_the_live_backend() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000
