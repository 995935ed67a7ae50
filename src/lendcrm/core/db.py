"""Per-connection settings for SQLite, the embedded default."""

from typing import Any

from django.db.backends.signals import connection_created

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=20000",
)


def _configure(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Make every SQLite connection durable, concurrent and relationally strict."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)


def install_connection_settings() -> None:
    connection_created.connect(_configure, dispatch_uid="lendcrm.core.db.sqlite")
