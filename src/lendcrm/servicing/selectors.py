"""Every read of the loan book (facilities, drawdowns, schedules), scoped to the viewer through the borrower:
a facility exists for whoever may read its borrower, and for no one else."""

from django.db.models import Prefetch, QuerySet

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.selectors import given
from lendcrm.servicing.models import Drawdown, Facility, FacilityGuarantor, Instalment


def visible_facilities(*, viewer: User) -> QuerySet[Facility]:
    """Facilities whose borrower the viewer may read."""
    scope = party_scope(viewer, via="borrower")
    qs = Facility.objects.all()
    return qs if scope is None else qs.filter(scope)


def facility_list(
    *,
    viewer: User,
    borrower_id: int | None = None,
    status: str | None = None,
    category: str | None = None,
    branch_id: int | None = None,
    kind: str | None = None,
    application_id: int | None = None,
) -> QuerySet[Facility]:
    """The loan book the viewer may see, filtered, newest booking first; borrower, branch and product come
    with each row (one query)."""
    qs = given(
        visible_facilities(viewer=viewer),
        borrower_id=borrower_id,
        status=status,
        category=category,
        branch_id=branch_id,
        kind=kind,
        application_id=application_id,
    )
    return qs.select_related("borrower", "branch", "product").order_by("-booked_at", "-id")


def get_facility(*, viewer: User, facility_id: object) -> Facility:
    """One facility with its borrower, application, guarantors and drawdowns; NotFound out of scope."""
    found = (
        visible_facilities(viewer=viewer)
        .select_related("borrower", "branch", "product", "application", "monitor", "booked_by")
        .prefetch_related(
            Prefetch("guarantors", queryset=FacilityGuarantor.objects.select_related("party").order_by("id")),
            Prefetch("drawdowns", queryset=Drawdown.objects.order_by("value_date", "id")),
        )
        .filter(pk=row_id(facility_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


def current_schedule(facility: Facility) -> QuerySet[Instalment]:
    """The instalments of the facility's current schedule version, in order (earlier versions are kept)."""
    return Instalment.objects.filter(
        facility_id=facility.pk, schedule_version=facility.schedule_version
    ).order_by("number")


def schedule_lines(facility: Facility, version: int | None = None) -> list[Instalment]:
    """One version of a facility the caller has read in scope (the current one by default); NotFound
    for a version it never had."""
    if version is not None and not 1 <= version <= facility.schedule_version:
        raise errors.NotFound(code="no_such_schedule_version")
    wanted = facility.schedule_version if version is None else version
    return list(
        Instalment.objects.filter(facility_id=facility.pk, schedule_version=wanted).order_by("number")
    )


def schedule_of(
    *, viewer: User, facility_id: object, version: int | None = None
) -> tuple[Facility, list[Instalment]]:
    """A facility the viewer may see and one version of its schedule (the current one by default)."""
    facility = visible_facilities(viewer=viewer).filter(pk=row_id(facility_id)).first()
    if facility is None:
        raise errors.NotFound()
    return facility, schedule_lines(facility, version)


def drawdown_list(*, viewer: User, facility_id: object) -> QuerySet[Drawdown]:
    """The drawdowns of a facility the viewer may see, in value-date order; NotFound out of scope."""
    pk = row_id(facility_id)
    if not visible_facilities(viewer=viewer).filter(pk=pk).exists():
        raise errors.NotFound()
    return Drawdown.objects.filter(facility_id=pk).order_by("value_date", "id")


def party_facilities(*, viewer: User, party_id: int, limit: int | None = None) -> list[Facility]:
    """The facilities of one party (as borrower) the viewer may see, active first, newest booking first,
    at most `limit`, for the party's 360 (one query)."""
    qs = (
        visible_facilities(viewer=viewer)
        .filter(borrower_id=party_id)
        .select_related("product")
        .order_by("status", "-booked_at", "-id")
    )
    return list(qs if limit is None else qs[:limit])
