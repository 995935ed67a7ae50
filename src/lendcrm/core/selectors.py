"""Reads of the organisation."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.core.roles import Role


def branches(*, viewer: User) -> QuerySet[Branch]:
    """Branch names are not confidential: every member of staff may list them."""
    return Branch.objects.order_by("code")


def users(*, viewer: User) -> QuerySet[User]:
    """Only administrators list users."""
    if not viewer.has_role(Role.ADMINISTRATOR):
        raise errors.PermissionDenied(_("Only an administrator lists users."))
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


def staff_names(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of members of staff, in one query; names of colleagues are not customer data."""
    wanted = {i for i in user_ids if i is not None}
    rows = User.objects.filter(pk__in=wanted).only("username", "first_name", "last_name")
    return {u.pk: u.get_full_name() or u.username for u in rows}


def front_office(*, branch_id: int | None = None) -> QuerySet[User]:
    """Active relationship managers and service agents (of one branch if given), by name."""
    qs = User.objects.filter(
        is_active=True, role_grants__role__in=[Role.RELATIONSHIP_MANAGER, Role.SERVICE_AGENT]
    ).distinct()
    if branch_id is not None:
        qs = qs.filter(branch_id=branch_id)
    return qs.order_by("first_name", "last_name", "username")


def given(qs: QuerySet[Any], **lookups: object) -> QuerySet[Any]:
    """`qs` filtered by the lookups that were given: None and "" mean "no filter on this"."""
    return qs.filter(
        **{lookup: value for lookup, value in lookups.items() if value is not None and value != ""}
    )


def _require_auditor(viewer: User) -> None:
    """The audit trail is for compliance officers; to anyone else it does not exist."""
    if not viewer.has_role(Role.COMPLIANCE_OFFICER):
        raise errors.NotFound()


def audit_events(
    *,
    viewer: User,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    party_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail, newest first, filtered; only compliance officers read it."""
    _require_auditor(viewer)
    return given(
        AuditEvent.objects.select_related("actor"),
        actor_id=actor_id,
        object_type=object_type,
        object_id=object_id,
        party_id=party_id,
        occurred_at__gte=since,
        occurred_at__lt=until,
    ).order_by("-id")


def audit_object_types(*, viewer: User) -> list[str]:
    """The kinds of object the trail mentions, for the filter."""
    _require_auditor(viewer)
    return list(AuditEvent.objects.order_by().values_list("object_type", flat=True).distinct())
