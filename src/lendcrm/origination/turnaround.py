"""Turnaround: how long an application spent in each status, against the target (SLA) for that status.

The target of a status is the `StageTarget` for the application's main product — the product of its first
requested facility — or else the default target of that status; a status without a target (the closed
ones) is never overdue. An application is overdue when it has been in its current status longer than the
target."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from lendcrm.origination.models import Application, ApplicationFacility, StageTarget, StatusChange

HOUR = Decimal(3600)
HOURS_PLACES = Decimal("0.1")

# (status, product id or None for the default) -> target hours
Targets = dict[tuple[str, int | None], int]


def load_targets() -> Targets:
    """Every turnaround target, in one query (the table is a few dozen rows)."""
    return {(t.status, t.product_id): t.target_hours for t in StageTarget.objects.all()}


def target_for(targets: Targets, status: str, product_id: int | None) -> int | None:
    if product_id is not None and (status, product_id) in targets:
        return targets[(status, product_id)]
    return targets.get((status, None))


def main_product() -> Subquery:
    """The application's main product (its first facility's), as a column for annotate()."""
    return Subquery(
        ApplicationFacility.objects.filter(application=OuterRef("pk"))
        .order_by("position", "id")
        .values("product_id")[:1]
    )


def hours_between(start: datetime, end: datetime) -> Decimal:
    seconds = Decimal((end - start).total_seconds())
    return (seconds / HOUR).quantize(HOURS_PLACES, rounding=ROUND_HALF_UP)


def is_overdue(targets: Targets, status: str, since: datetime, product_id: int | None, now: datetime) -> bool:
    target = target_for(targets, status, product_id)
    return target is not None and now - since > timedelta(hours=target)


def overdue_filter(targets: Targets, now: datetime, product_field: str = "main_product_id") -> Q:
    """A filter on applications (annotated with `main_product()` as `product_field`) that are overdue:
    for each status, those past its product targets, and those of other products past its default."""
    condition = Q(pk__in=[])
    statuses = {status for status, _product in targets}
    for status in statuses:
        specific = {p: h for (s, p), h in targets.items() if s == status and p is not None}
        for product_id, hours in specific.items():
            condition |= Q(
                status=status,
                **{product_field: product_id},
                status_entered_at__lt=now - timedelta(hours=hours),
            )
        default = targets.get((status, None))
        if default is not None:
            others = Q(status=status, status_entered_at__lt=now - timedelta(hours=default))
            if specific:
                others &= ~Q(**{f"{product_field}__in": list(specific)}) | Q(
                    **{f"{product_field}__isnull": True}
                )
            condition |= others
    return condition


@dataclass(frozen=True)
class Stint:
    """One stay in a status: from the change that entered it to the next one (or now)."""

    change: StatusChange
    status: str
    entered_at: datetime
    left_at: datetime | None
    hours: Decimal
    target_hours: int | None
    overdue: bool


def stints(
    changes: list[StatusChange], *, product_id: int | None, targets: Targets, now: datetime | None = None
) -> list[Stint]:
    """The application's history as stays in each status, with their targets, oldest first."""
    now = now or timezone.now()
    out = []
    ordered = sorted(changes, key=lambda c: (c.changed_at, c.pk))
    for index, change in enumerate(ordered):
        left_at = ordered[index + 1].changed_at if index + 1 < len(ordered) else None
        end = left_at or now
        target = target_for(targets, change.to_status, product_id)
        out.append(
            Stint(
                change=change,
                status=change.to_status,
                entered_at=change.changed_at,
                left_at=left_at,
                hours=hours_between(change.changed_at, end),
                target_hours=target,
                overdue=target is not None and end - change.changed_at > timedelta(hours=target),
            )
        )
    return out


def hours_by_status(history: list[Stint]) -> dict[str, Decimal]:
    """Total time per status (a status entered twice adds up)."""
    totals: dict[str, Decimal] = {}
    for stint in history:
        totals[stint.status] = totals.get(stint.status, Decimal(0)) + stint.hours
    return totals


def with_main_product(qs: QuerySet[Application]) -> QuerySet[Application]:
    return qs.annotate(main_product_id=main_product())
