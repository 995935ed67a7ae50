"""Object-level access to customer data, decided in one place."""

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from lendcrm.core.models import User
from lendcrm.core.roles import COVERAGE_ROLES, CUSTOMER_WRITE_ROLES, PORTFOLIO_WIDE_ROLES


def sees_whole_book(user: User) -> bool:
    return user.is_active and bool(user.role_slugs & PORTFOLIO_WIDE_ROLES)


def sees_by_coverage(user: User) -> bool:
    return user.is_active and bool(user.role_slugs & COVERAGE_ROLES)


def may_write_customers(user: User) -> bool:
    return user.is_active and bool(user.role_slugs & CUSTOMER_WRITE_ROLES)


def require_customer_writer(actor: User | None) -> None:
    """Only customer-facing roles change customer data; `None` is the system itself (seed, imports)."""
    if actor is not None and not may_write_customers(actor):
        from django.utils.translation import gettext as _

        from lendcrm.core.errors import PermissionDenied

        raise PermissionDenied(_("Your roles do not allow changing customer data."))


def party_scope(user: User, via: str = "") -> Q | None:
    """A filter limited to the parties `user` may read: on Party itself, or with `via="party"` on rows
    that belong to a party through that foreign key. None when the user sees the whole book."""
    if sees_whole_book(user):
        return None
    if not sees_by_coverage(user):
        return Q(pk__in=[])
    from lendcrm.parties.models import Coverage

    party_ref = f"{via}_id" if via else "pk"
    covered = Q(Exists(Coverage.objects.filter(user_id=user.pk, party_id=OuterRef(party_ref))))
    if user.branch_id is None:
        return covered
    return Q(**{f"{via}__branch_id" if via else "branch_id": user.branch_id}) | covered


def party_scope_ids(user: User) -> QuerySet[Any] | None:
    """`party_scope` as a set of party ids: the parties booked at the user's branch UNION those they cover.
    A search or list that starts from this set reads only what the user may see, instead of testing the
    scope on every party that matches. None when the user sees the whole book."""
    if sees_whole_book(user):
        return None
    from lendcrm.parties.models import Coverage, Party

    covered = Coverage.objects.filter(user_id=user.pk).values("party_id")
    if not sees_by_coverage(user):
        return covered.none()
    if user.branch_id is None:
        return covered
    return Party.objects.filter(branch_id=user.branch_id).values("id").union(covered, all=True)
