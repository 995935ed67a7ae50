"""What the header and navigation need on every page."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from lendcrm.core.access import may_write_customers, sees_by_coverage, sees_whole_book
from lendcrm.core.roles import OVERSIGHT_APPROVER_ROLES, Role


def workspace(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = user.role_slugs
    return {
        "today": timezone.localdate(),
        "nav": {
            "reads_customers": sees_whole_book(user) or sees_by_coverage(user),
            "writes_customers": may_write_customers(user),
            "audits": Role.COMPLIANCE_OFFICER in roles,
            "administers": Role.ADMINISTRATOR in roles,
            "decides": bool(roles & {Role.CREDIT_APPROVER, Role.COMMITTEE_MEMBER}),
            "oversees": bool(roles & OVERSIGHT_APPROVER_ROLES),
        },
    }
