"""Reads of classification history, manual classification requests and restructurings, scoped to the
viewer through the facility's borrower (out of scope is 404, like a missing id)."""

from typing import Any

from django.db.models import Q, QuerySet

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.servicing.models import (
    ClassificationChange,
    ClassificationRequest,
    RequestStatus,
    Restructuring,
)


def _scoped(qs: QuerySet[Any], viewer: User, via: str) -> QuerySet[Any]:
    scope = party_scope(viewer, via=via)
    return qs if scope is None else qs.filter(scope)


def classification_history(
    *,
    viewer: User,
    facility_id: int | None = None,
    party_id: int | None = None,
    category: str | None = None,
) -> QuerySet[ClassificationChange]:
    """Changes of category or stage the viewer may see, newest first, with the facility and the people."""
    qs = _scoped(ClassificationChange.objects.all(), viewer, "facility__borrower")
    filters = Q()
    if facility_id is not None:
        filters &= Q(facility_id=facility_id)
    if party_id is not None:
        filters &= Q(facility__borrower_id=party_id)
    if category:
        filters &= Q(category=category)
    return (
        qs.filter(filters)
        .select_related("facility", "proposed_by", "approved_by")
        .order_by("-recorded_at", "-id")
    )


def classification_requests(
    *, viewer: User, facility_id: int | None = None, status: str | None = None
) -> QuerySet[ClassificationRequest]:
    qs = _scoped(ClassificationRequest.objects.all(), viewer, "facility__borrower")
    if facility_id is not None:
        qs = qs.filter(facility_id=facility_id)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("facility", "requested_by", "decided_by").order_by("-requested_at", "-id")


def classification_request(*, viewer: User, request_id: object) -> ClassificationRequest:
    found = classification_requests(viewer=viewer).filter(pk=row_id(request_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def restructurings(
    *, viewer: User, facility_id: int | None = None, status: str | None = None
) -> QuerySet[Restructuring]:
    qs = _scoped(Restructuring.objects.all(), viewer, "facility__borrower")
    if facility_id is not None:
        qs = qs.filter(facility_id=facility_id)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("facility", "requested_by", "decided_by").order_by("-requested_at", "-id")


def restructuring(*, viewer: User, restructuring_id: object) -> Restructuring:
    found = restructurings(viewer=viewer).filter(pk=row_id(restructuring_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def pending_for_approver(*, viewer: User) -> tuple[list[ClassificationRequest], list[Restructuring]]:
    """Pending requests the viewer may decide (not their own), oldest first — their queue."""
    requests = list(
        classification_requests(viewer=viewer, status=RequestStatus.PENDING)
        .exclude(requested_by=viewer)
        .order_by("requested_at", "id")
    )
    changes = list(
        restructurings(viewer=viewer, status=RequestStatus.PENDING)
        .exclude(requested_by=viewer)
        .order_by("requested_at", "id")
    )
    return requests, changes
