"""What every pipeline write shares: the owner check, locking, versions."""

from django.db.models import Model
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers
from lendcrm.core.models import User


def check_staff(value: object, field: str) -> User:
    """A member of staff who may own pipeline work: active, with a customer-facing role."""
    if not isinstance(value, User) or not may_write_customers(value):
        raise errors.field_error(
            field, _("The owner must be an active relationship manager, analyst or service agent.")
        )
    return value


def bump(obj: Model) -> None:
    """One more version of a row whose fields were set in place."""
    obj.version += 1  # type: ignore[attr-defined]
    obj.save()
