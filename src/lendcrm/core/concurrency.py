"""Optimistic concurrency: the one ETag format and the one stale-version refusal."""

from typing import Any


def etag_for(obj: Any) -> str:
    """The ETag of a versioned row: its id and version."""
    return f'"{obj.pk}-{obj.version}"'


def check_version(locked: Any, expected_version: int | None) -> None:
    """Refuse (412, naming the current ETag) a write based on a version the row no longer has."""
    from lendcrm.core.errors import PreconditionFailed

    if expected_version is not None and locked.version != expected_version:
        raise PreconditionFailed(extra={"current_etag": etag_for(locked)})
