"""Taking customer data out of the system is itself recorded."""

from collections.abc import Mapping

from django.db import transaction

from lendcrm.core import audit
from lendcrm.core.models import User


def record_party_export(*, actor: User, filters: Mapping[str, str], fmt: str = "csv") -> None:
    """Audit an export of the party list: who took it, in what format, with which filters."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="party.exported",
            object_type="party_list",
            object_id=fmt,
            changes={"filters": dict(filters)},
        )
