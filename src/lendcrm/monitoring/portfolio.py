"""Portfolio views over the loan book, scoped to the viewer through the borrower: exposure (limit and
outstanding in the base currency) by branch, segment, industry, classification or risk grade; the totals
behind it (non-performing share, stage 2 and 3); the window of upcoming covenant tests and reviews."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lendcrm.core import errors
from lendcrm.core.access import party_scope, sees_by_coverage, sees_whole_book
from lendcrm.core.models import User
from lendcrm.origination.risk import to_base
from lendcrm.parties.models import Segment
from lendcrm.servicing import classification
from lendcrm.servicing.models import Category, Facility, FacilityStatus

# The dimensions exposure is cut by: the column grouped on, and a second column that names the group.
DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "branch": ("branch_id", "branch__name"),
    "segment": ("borrower__segment", None),
    "industry": ("borrower__industry_code", None),
    "category": ("category", None),
    "grade": ("application__memo__risk_grade__grade", None),
}
DIMENSION_LABELS = {
    "branch": gettext_lazy("Branch"),
    "segment": gettext_lazy("Segment"),
    "industry": gettext_lazy("Industry"),
    "category": gettext_lazy("Classification"),
    "grade": gettext_lazy("Risk grade"),
}
WINDOWS = (30, 60, 90)
ZERO = Decimal("0.00")


def may_view_portfolio(user: User) -> bool:
    """Whoever reads customers sees the portfolio of the customers they may read."""
    return sees_whole_book(user) or sees_by_coverage(user)


def visible_facilities(*, viewer: User) -> QuerySet[Facility]:
    """Facilities whose borrower the viewer may read."""
    scope = party_scope(viewer, via="borrower")
    qs = Facility.objects.all()
    return qs if scope is None else qs.filter(scope)


@dataclass
class ExposureRow:
    key: Any
    label: str
    facilities: int = 0
    limit: Decimal = ZERO
    outstanding: Decimal = ZERO
    arrears: Decimal = ZERO
    share: Decimal = ZERO  # of the outstanding total, in percent


@dataclass
class Exposure:
    """Active facilities cut by one dimension; amounts in the base currency."""

    by: str
    currency: str
    rows: list[ExposureRow] = field(default_factory=list)

    @property
    def facilities(self) -> int:
        return sum(r.facilities for r in self.rows)

    @property
    def limit(self) -> Decimal:
        return sum((r.limit for r in self.rows), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((r.outstanding for r in self.rows), ZERO)

    @property
    def arrears(self) -> Decimal:
        return sum((r.arrears for r in self.rows), ZERO)


def exposure(*, viewer: User, by: str) -> Exposure:
    """One query: active facilities the viewer may see, summed per group and currency, then converted
    to the base currency and folded per group; largest outstanding first (categories and grades in
    their own order)."""
    if by not in DIMENSIONS:
        raise errors.ValidationFailed(
            _("Unknown dimension."),
            field_errors={"by": [_("One of: %(names)s.") % {"names": ", ".join(DIMENSIONS)}]},
        )
    key_field, name_field = DIMENSIONS[by]
    columns = [key_field, "currency"] + ([name_field] if name_field else [])
    sums = (
        visible_facilities(viewer=viewer)
        .filter(status=FacilityStatus.ACTIVE)
        .values(*columns)
        .annotate(
            n=Count("id"),
            limit_sum=Sum("limit"),
            outstanding_sum=Sum("outstanding_principal"),
            arrears_sum=Sum(F("arrears_principal") + F("arrears_interest") + F("arrears_fees")),
        )
        .order_by()
    )
    rows: dict[Any, ExposureRow] = {}
    for group in sums:
        key = group[key_field]
        row = rows.get(key)
        if row is None:
            row = rows[key] = ExposureRow(key, _label(by, key, group.get(name_field) if name_field else None))
        currency = group["currency"]
        row.facilities += group["n"]
        row.limit += to_base(group["limit_sum"] or ZERO, currency)
        row.outstanding += to_base(group["outstanding_sum"] or ZERO, currency)
        row.arrears += to_base(group["arrears_sum"] or ZERO, currency)
    result = Exposure(by, settings.LENDCRM_BASE_CURRENCY, _ordered(by, rows.values()))
    total = result.outstanding
    for row in result.rows:
        row.share = (row.outstanding * 100 / total).quantize(Decimal("0.1")) if total else Decimal("0.0")
    return result


def _label(by: str, key: Any, name: str | None) -> str:
    if by == "branch":
        return name or "—"
    if by == "segment":
        return str(Segment(key).label) if key in Segment.values else _("Not recorded")
    if by == "industry":
        return key or _("Not recorded")
    if by == "category":
        return str(Category(key).label)
    return _("Grade %(grade)s") % {"grade": key} if key is not None else _("Not graded")


def _ordered(by: str, rows: Iterable[ExposureRow]) -> list[ExposureRow]:
    if by == "category":
        return sorted(rows, key=lambda r: classification.rank(r.key))
    if by == "grade":
        return sorted(rows, key=lambda r: (r.key is None, r.key or 0))
    return sorted(rows, key=lambda r: (-r.outstanding, r.label))


@dataclass(frozen=True)
class Health:
    """The book's headline figures, from the exposure by classification."""

    currency: str
    facilities: int
    limit: Decimal
    outstanding: Decimal
    arrears: Decimal
    non_performing: Decimal
    special_mention: Decimal

    @property
    def npl_ratio(self) -> Decimal:
        """Non-performing outstanding as a percent of all outstanding."""
        if not self.outstanding:
            return Decimal("0.00")
        return (self.non_performing * 100 / self.outstanding).quantize(Decimal("0.01"))


def health(by_category: Exposure) -> Health:
    """Totals and the non-performing share, from an exposure cut by classification (no extra query)."""
    if by_category.by != "category":
        raise ValueError("health() needs the exposure by category")
    npl = sum((r.outstanding for r in by_category.rows if classification.is_non_performing(r.key)), ZERO)
    watch = sum((r.outstanding for r in by_category.rows if r.key == Category.SPECIAL_MENTION), ZERO)
    return Health(
        by_category.currency,
        by_category.facilities,
        by_category.limit,
        by_category.outstanding,
        by_category.arrears,
        npl,
        watch,
    )


def window(as_of: date, within: int) -> date:
    """The last day of a look-ahead of `within` days (30, 60 or 90) from `as_of`."""
    if within not in WINDOWS:
        raise errors.ValidationFailed(
            _("Choose 30, 60 or 90 days."), field_errors={"within": [_("Choose 30, 60 or 90 days.")]}
        )
    return as_of + timedelta(days=within)


@dataclass(frozen=True)
class Upcoming:
    """What falls due within the window: covenant tests not yet due, reviews and visits due by its end
    (overdue ones included and also counted apart), open breaches and the live watchlist — first rows
    and counts."""

    as_of: date
    until: date
    tests: list[Any]
    test_count: int
    reviews: list[Any]
    review_count: int
    overdue_reviews: int
    breaches: list[Any]
    breach_count: int
    watch: list[Any]
    watch_count: int


def upcoming(*, viewer: User, as_of: date, within: int = 30, rows: int = 10) -> Upcoming:
    """Fixed queries (a page and a count each) through the covenant and oversight selectors."""
    from lendcrm.monitoring import covenant_selectors, oversight_selectors
    from lendcrm.monitoring.oversight_models import ReviewStatus

    until = window(as_of, within)
    tests = covenant_selectors.upcoming_tests(viewer=viewer, as_of=as_of, until=until)
    scheduled = oversight_selectors.review_list(viewer=viewer, status=ReviewStatus.SCHEDULED)
    reviews = scheduled.filter(due_date__lte=until)  # overdue ones first: they are due too
    breaches = covenant_selectors.breaches(viewer=viewer)
    watch = oversight_selectors.watchlist(viewer=viewer, live_only=True)
    return Upcoming(
        as_of=as_of,
        until=until,
        tests=list(tests[:rows]),
        test_count=tests.count(),
        reviews=list(reviews[:rows]),
        review_count=reviews.count(),
        overdue_reviews=scheduled.filter(due_date__lt=as_of).count(),
        breaches=list(breaches[:rows]),
        breach_count=breaches.count(),
        watch=list(watch[:rows]),
        watch_count=watch.count(),
    )
