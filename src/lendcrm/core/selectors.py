"""Reads of the organisation."""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext as _

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
    return _staff().order_by("username")


def _staff() -> QuerySet[User]:
    return User.objects.select_related("branch").prefetch_related("role_grants")


def user_with_roles(user_id: int) -> User | None:
    return _staff().filter(pk=user_id).first()


def branch_by_code(code: str, *, field: str = "branch") -> Branch:
    """A branch named by its code in input; an unknown code is a field error."""
    branch = Branch.objects.filter(code=code.strip().upper()).first()
    if branch is None:
        raise errors.field_error(field, _("No branch has the code %(code)s.") % {"code": code})
    return branch


def staff_members(user_ids: Iterable[int], *, field: str, unknown: str) -> list[User]:
    """Members of staff named by id in input, in the order given, in two queries whatever their
    number; an unknown id is a field error worded by the caller (`%(id)s` names it), so the answer
    does not tell an unknown user from an unsuitable one."""
    wanted = list(dict.fromkeys(user_ids))
    found = {
        u.pk: u
        for u in User.objects.select_related("branch").prefetch_related("role_grants").filter(pk__in=wanted)
    }
    for user_id in wanted:
        if user_id not in found:
            raise errors.field_error(field, unknown % {"id": user_id})
    return [found[user_id] for user_id in wanted]
