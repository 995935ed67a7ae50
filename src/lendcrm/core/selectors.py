"""Reads of the organisation."""

from django.db.models import QuerySet

from lendcrm.core import errors
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role


def branches(*, viewer: User) -> QuerySet[Branch]:
    """Branch names are not confidential: every member of staff may list them."""
    return Branch.objects.order_by("code")


def users(*, viewer: User) -> QuerySet[User]:
    """Only administrators list users."""
    if not viewer.has_role(Role.ADMINISTRATOR):
        raise errors.PermissionDenied("Only an administrator lists users.")
    return User.objects.select_related("branch").prefetch_related("role_grants").order_by("username")


def user_with_roles(user_id: int) -> User | None:
    return User.objects.select_related("branch").prefetch_related("role_grants").filter(pk=user_id).first()
