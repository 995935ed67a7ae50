"""Concurrency: the one ETag format, the one stale-version refusal and the one way to lock a row the
actor may see."""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def etag_for(obj: Any) -> str:
    """The ETag of a versioned row: its id and version."""
    return f'"{obj.pk}-{obj.version}"'


def check_version(locked: Any, expected_version: int | None) -> None:
    """Refuse (412, naming the current ETag) a write based on a version the row no longer has."""
    from lendcrm.core.errors import PreconditionFailed

    if expected_version is not None and locked.version != expected_version:
        raise PreconditionFailed(extra={"current_etag": etag_for(locked)})


def locked_row(rows: QuerySet[M], pk: object) -> M:
    """The row among `rows` (the actor's scope), locked for this transaction; 404 when it is not there."""
    from lendcrm.core.errors import NotFound

    row = rows.select_for_update(of=("self",)).filter(pk=pk).first()
    if row is None:
        raise NotFound()
    return row
