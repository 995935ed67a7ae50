"""Every read of applications, statements, memos and offers, scoped to the viewer through the borrower:
an application exists for whoever may read its borrower, and for no one else."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.selectors import given
from lendcrm.origination import turnaround
from lendcrm.origination.models import (
    Application,
    ApplicationFacility,
    ApplicationParty,
    ChecklistItem,
    Decision,
    FinancialStatement,
    MemoRevision,
    Offer,
    StatusChange,
)
from lendcrm.origination.workflow import OPEN


def visible_applications(*, viewer: User) -> QuerySet[Application]:
    """Applications whose borrower the viewer may read."""
    scope = party_scope(viewer, via="borrower")
    qs = Application.objects.all()
    return qs if scope is None else qs.filter(scope)


def _listed(qs: QuerySet[Application]) -> QuerySet[Application]:
    """What a list row shows (borrower, branch, approval level, main product), in one query."""
    return turnaround.with_main_product(qs).select_related("borrower", "branch", "required_level")


def application_list(
    *,
    viewer: User,
    status: str | None = None,
    owner_id: int | None = None,
    borrower_id: int | None = None,
    mine: bool = False,
    overdue: bool = False,
    open_only: bool = False,
    now: datetime | None = None,
) -> QuerySet[Application]:
    """Applications the viewer may see, filtered, newest first; `mine` means owned by or analysed by the
    viewer, `overdue` in their current status longer than its target, `open_only` not yet closed."""
    qs = given(
        _listed(visible_applications(viewer=viewer)),
        status=status,
        owner_id=owner_id,
        borrower_id=borrower_id,
    )
    if mine:
        qs = qs.filter(Q(owner=viewer) | Q(analyst=viewer))
    if open_only:
        qs = qs.filter(status__in=OPEN)
    if overdue:
        qs = qs.filter(turnaround.overdue_filter(turnaround.load_targets(), now or timezone.now()))
    return qs.order_by("-created_at", "-id")


def overdue_applications(*, viewer: User, now: datetime | None = None) -> QuerySet[Application]:
    """Open applications the viewer may see that are past their status's target, longest waiting first."""
    return application_list(viewer=viewer, overdue=True, now=now).order_by("status_entered_at", "id")


def overdue_for_owner(*, viewer: User, now: datetime | None = None) -> QuerySet[Application]:
    """The viewer's own overdue applications, for their home page."""
    return overdue_applications(viewer=viewer, now=now).filter(owner=viewer)


def get_application(*, viewer: User, application_id: object) -> Application:
    """One application with its parties, facilities, checklist, history, memo and offers, in a fixed
    number of queries; NotFound when the viewer may not see its borrower."""
    found = (
        _listed(visible_applications(viewer=viewer))
        .select_related(
            "memo", "memo__risk_grade", "memo__analyst", "required_level", "opportunity", "proposal"
        )
        .prefetch_related(
            Prefetch(
                "parties",
                queryset=ApplicationParty.objects.select_related("party").order_by("id"),
            ),
            Prefetch(
                "facilities",
                queryset=ApplicationFacility.objects.select_related("product").order_by("position", "id"),
            ),
            Prefetch("checklist", queryset=ChecklistItem.objects.order_by("position", "id")),
            Prefetch(
                "status_changes",
                queryset=StatusChange.objects.select_related("changed_by").order_by("changed_at", "id"),
            ),
            Prefetch("offers", queryset=Offer.objects.order_by("-issued_at", "-id")),
        )
        .filter(pk=row_id(application_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


def application_memo(application: Application) -> Any:
    """The memo of an application read through `get_application`, or None (no query)."""
    try:
        return application.memo
    except Application.memo.RelatedObjectDoesNotExist:
        return None


def memo_revisions(application: Application) -> QuerySet[MemoRevision]:
    """The memo revisions of an application read through `get_application`, newest first, without their
    content (a list shows who saved which version when)."""
    return (
        MemoRevision.objects.filter(memo__application=application)
        .defer("content")
        .select_related("saved_by")
        .order_by("-version")
    )


def get_memo_revision(application: Application, version: int) -> MemoRevision:
    """One revision with its content, of an application read through `get_application`; NotFound when the
    memo never had that version."""
    found = (
        MemoRevision.objects.filter(memo__application=application, version=version)
        .select_related("saved_by")
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


def decision_list(application: Application) -> QuerySet[Decision]:
    """The decisions of an application read through `get_application`, round by round."""
    return (
        Decision.objects.filter(application=application)
        .select_related("decided_by", "level")
        .order_by("round", "id")
    )


@dataclass(frozen=True)
class Turnaround:
    history: list[turnaround.Stint]
    hours_by_status: dict[str, Decimal]
    current_target_hours: int | None
    overdue: bool


def application_turnaround(
    *, viewer: User, application: Application, now: datetime | None = None
) -> Turnaround:
    """Time in every status with its target, for an application read through `get_application`."""
    now = now or timezone.now()
    targets = turnaround.load_targets()
    product_id = getattr(application, "main_product_id", None)
    history = turnaround.stints(
        list(application.status_changes.all()), product_id=product_id, targets=targets, now=now
    )
    target = turnaround.target_for(targets, application.status, product_id)
    overdue = application.status in OPEN and turnaround.is_overdue(
        targets, application.status, application.status_entered_at, product_id, now
    )
    return Turnaround(history, turnaround.hours_by_status(history), target, overdue)


# --- financial statements -------------------------------------------------------------------------
def visible_statements(*, viewer: User) -> QuerySet[FinancialStatement]:
    scope = party_scope(viewer, via="party")
    qs = FinancialStatement.objects.all()
    return qs if scope is None else qs.filter(scope)


def statement_list(
    *, viewer: User, party_id: int | None = None, kind: str | None = None
) -> QuerySet[FinancialStatement]:
    """Statements the viewer may see, newest period first, with their lines."""
    return (
        given(visible_statements(viewer=viewer), party_id=party_id, kind=kind)
        .prefetch_related("lines")
        .order_by("party_id", "-period_end", "kind", "id")
    )


def get_statement(*, viewer: User, statement_id: object) -> FinancialStatement:
    found = (
        visible_statements(viewer=viewer).prefetch_related("lines").filter(pk=row_id(statement_id)).first()
    )
    if found is None:
        raise errors.NotFound()
    return found


# --- offers ---------------------------------------------------------------------------------------
def visible_offers(*, viewer: User) -> QuerySet[Offer]:
    scope = party_scope(viewer, via="application__borrower")
    qs = Offer.objects.all()
    return qs if scope is None else qs.filter(scope)


def offer_list(
    *, viewer: User, application_id: int | None = None, status: str | None = None
) -> QuerySet[Offer]:
    return (
        given(visible_offers(viewer=viewer), application_id=application_id, status=status)
        .select_related("application")
        .order_by("-issued_at", "-id")
    )


def get_offer(*, viewer: User, offer_id: object) -> Offer:
    found = visible_offers(viewer=viewer).select_related("application").filter(pk=row_id(offer_id)).first()
    if found is None:
        raise errors.NotFound()
    return found
