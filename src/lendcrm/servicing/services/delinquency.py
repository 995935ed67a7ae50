"""Arrears and days past due: kept on each facility by `refresh_delinquency` (the daily job, set-based) and
by every repayment, and rolled up to the party, its group and the portfolio's delinquency buckets.

Rules, in one place:
* Arrears are the unpaid fees, interest and principal of the current schedule version's instalments due
  before `as_of` (an instalment due today is not yet overdue); days past due = `as_of` minus the oldest such
  unpaid due date (0 when nothing is overdue).
* Outstanding principal = the principal still unpaid on the current schedule version (the schedule is
  built on the outstanding balance, so the two agree), less grace interest that is capitalised only on a
  later due date (it becomes principal on the day it is capitalised); a facility without schedule lines
  keeps its stored figure.
* Only active facilities are refreshed. A column is written only when its value changes; a re-run on the
  same day changes nothing and writes nothing (one summary audit event per run that changed something,
  by the system).
* Party and group roll-ups read the stored columns (the state the daily job and the postings keep);
  the buckets compute days past due afresh at `as_of` from the instalments, so they are right even
  before the day's job has run. Amounts are summed per currency, then converted to the base currency.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lendcrm.core import audit, errors
from lendcrm.core.models import User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.origination.risk import to_base
from lendcrm.parties import graph
from lendcrm.parties.models import CONNECTING_KINDS
from lendcrm.servicing.models import Facility, FacilityStatus, Instalment
from lendcrm.servicing.selectors import visible_facilities
from lendcrm.servicing.services.repayments import UNPAID

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
CHUNK = 2000
COLUMNS = ("outstanding_principal", "arrears_principal", "arrears_interest", "arrears_fees", "days_past_due")
MONEY: DecimalField = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)


def cents(value: Any) -> Decimal:
    """A sum read back from SQL, to the cent: SQLite adds decimals as binary floating point, so a sum can
    come back as 999999.99999999996 (far below a cent off for any real balance); PostgreSQL is exact."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _total(expression: Any, condition: Q | None = None) -> Any:
    """Sum of `expression` over the lines matching `condition`; zero when none match."""
    return Coalesce(Sum(expression, filter=condition, output_field=MONEY), ZERO, output_field=MONEY)


def _owed(part: str, condition: Q | None = None) -> Any:
    """What is unpaid of a part over the lines matching `condition`."""
    return _total(F(part) - F(f"{part}_paid"), condition)


def _current_lines(facility_ids: Iterable[int]) -> QuerySet[Instalment]:
    return Instalment.objects.filter(
        facility_id__in=list(facility_ids), schedule_version=F("facility__schedule_version")
    )


def compute(as_of: date, facility_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The delinquency columns of each facility that has schedule lines, as of `as_of` (one query)."""
    return _aggregate(_current_lines(facility_ids), as_of)


def _aggregate(lines: QuerySet[Instalment], as_of: date) -> dict[int, dict[str, Any]]:
    overdue = Q(due_date__lt=as_of)
    rows = (
        lines.values("facility_id")
        .annotate(
            unpaid_principal=_owed("principal"),
            # interest a grace period will capitalise later (closing = opening - principal + capitalised)
            capitalised_later=_total(
                F("closing_balance") - F("opening_balance") + F("principal"), Q(due_date__gt=as_of)
            ),
            arrears_principal=_owed("principal", overdue),
            arrears_interest=_owed("interest", overdue),
            arrears_fees=_owed("fees", overdue),
            oldest=Min("due_date", filter=overdue & UNPAID),
        )
        .order_by()
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        oldest = row.pop("oldest")
        row["outstanding_principal"] = cents(row.pop("unpaid_principal")) - cents(
            row.pop("capitalised_later")
        )
        for name in COLUMNS[1:4]:
            row[name] = cents(row[name])
        row["days_past_due"] = (as_of - oldest).days if oldest is not None else 0
        out[row.pop("facility_id")] = row
    return out


def _target(current: dict[str, Any], found: dict[str, Any] | None) -> dict[str, Any]:
    if found is None:  # no schedule lines: nothing can be overdue; the stored outstanding stays
        return {
            **dict.fromkeys(COLUMNS[1:4], ZERO),
            "days_past_due": 0,
            "outstanding_principal": current["outstanding_principal"],
        }
    return found


def snapshot(facility: Facility) -> dict[str, Any]:
    return {name: getattr(facility, name) for name in COLUMNS}


def refresh_one(facility: Facility, *, as_of: date) -> None:
    """Set the delinquency columns of one (locked) facility from its schedule version as it is in memory (a
    prepayment has just made a new one); the caller saves it."""
    lines = Instalment.objects.filter(facility_id=facility.pk, schedule_version=facility.schedule_version)
    found = _aggregate(lines, as_of).get(facility.pk)
    for name, value in _target(snapshot(facility), found).items():
        setattr(facility, name, value)


def _chunks(as_of: date, facility_ids: Iterable[int] | None, size: int) -> Iterator[list[int]]:
    active = Facility.objects.filter(status=FacilityStatus.ACTIVE).order_by("pk")
    if facility_ids is not None:
        ids = sorted({int(pk) for pk in facility_ids})
        for start in range(0, len(ids), size):
            yield ids[start : start + size]
        return
    last = 0
    while True:
        ids = list(active.filter(pk__gt=last).values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def refresh_delinquency(
    *, as_of: date, facility_ids: Iterable[int] | None = None, chunk_size: int = CHUNK
) -> int:
    """Bring arrears, days past due and outstanding principal of active facilities up to `as_of`; returns
    how many facilities changed. Four queries per chunk of `chunk_size` facilities (ids, lock and read,
    the aggregate, one bulk update); idempotent."""
    if not isinstance(as_of, date):
        raise errors.field_error("as_of", str(_("Give a date.")))
    changed_total = 0
    now = timezone.now()
    for ids in _chunks(as_of, facility_ids, chunk_size):
        with transaction.atomic():
            current = {
                row["pk"]: row
                for row in Facility.objects.select_for_update()
                .filter(pk__in=ids, status=FacilityStatus.ACTIVE)
                .values("pk", "version", *COLUMNS)
            }
            found = compute(as_of, current)
            changed = []
            for pk, row in current.items():
                target = _target(row, found.get(pk))
                if any(row[name] != target[name] for name in COLUMNS):
                    changed.append(Facility(pk=pk, version=row["version"] + 1, updated_at=now, **target))
            if changed:
                Facility.objects.bulk_update(changed, [*COLUMNS, "version", "updated_at"], batch_size=500)
            changed_total += len(changed)
    if changed_total:
        with transaction.atomic():
            audit.record(
                actor=None,
                action="delinquency.refreshed",
                object_type="delinquency",
                object_id=as_of.isoformat(),
                changes={"as_of": as_of, "facilities_changed": changed_total},
            )
    return changed_total


# --- roll-ups -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rollup:
    """Totals over a set of facilities in the base currency, from the stored columns."""

    currency: str
    facilities: int
    outstanding: Decimal
    arrears: Decimal
    max_days_past_due: int


def _rollup(rows: QuerySet[Facility]) -> Rollup:
    """One query: sums per currency, converted to the base currency."""
    outstanding = arrears = ZERO
    count = max_dpd = 0
    grouped = (
        rows.filter(status=FacilityStatus.ACTIVE)
        .values("currency")
        .annotate(
            n=Count("pk"),
            outstanding=Sum("outstanding_principal"),
            arrears=Sum(
                F("arrears_principal") + F("arrears_interest") + F("arrears_fees"), output_field=MONEY
            ),
            dpd=Max("days_past_due"),
        )
        .order_by()
    )
    for row in grouped:
        count += row["n"]
        outstanding += to_base(cents(row["outstanding"]), row["currency"])
        arrears += to_base(cents(row["arrears"]), row["currency"])
        max_dpd = max(max_dpd, row["dpd"] or 0)
    return Rollup(settings.LENDCRM_BASE_CURRENCY, count, outstanding, arrears, max_dpd)


def _visible_party(viewer: User, party_id: object) -> int:
    from lendcrm.core.fields import row_id
    from lendcrm.parties.selectors import visible_parties

    pk = row_id(party_id)
    if not visible_parties(viewer=viewer).filter(pk=pk).exists():
        raise errors.NotFound()
    return pk


def party_delinquency(*, viewer: User, party_id: object) -> Rollup:
    """A borrower's active facilities: outstanding, arrears and the worst days past due (404 out of scope)."""
    pk = _visible_party(viewer, party_id)
    return _rollup(Facility.objects.filter(borrower_id=pk))


def group_delinquency(*, viewer: User, party_id: object) -> Rollup:
    """The same over every party connected to the party (its group, sponsors, guarantors: the same
    connection as group exposure), members outside the viewer's scope included in the totals only."""
    pk = _visible_party(viewer, party_id)
    return _rollup(Facility.objects.filter(borrower_id__in=graph.connecting(pk, CONNECTING_KINDS)))


@dataclass(frozen=True)
class Bucket:
    """Facilities whose days past due fall in [low, high] (high None: no upper bound), base currency."""

    low: int
    high: int | None
    facilities: int
    outstanding: Decimal
    arrears: Decimal

    @property
    def label(self) -> str:
        return f"{self.low}\N{EN DASH}{self.high}" if self.high is not None else f"{self.low - 1}+"


BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 30), (31, 60), (61, 90), (91, None))


def bucket_of(days_past_due: int) -> int | None:
    """The index in BUCKETS, None when not overdue."""
    for index, (low, high) in enumerate(BUCKETS):
        if days_past_due >= low and (high is None or days_past_due <= high):
            return index
    return None


def delinquency_buckets(*, viewer: User, as_of: date) -> list[Bucket]:
    """Overdue active facilities the viewer may see, by days past due at `as_of` (1-30, 31-60, 61-90,
    90+): count, outstanding principal and arrears in the base currency. One query over the overdue
    instalments only (grouped by facility), so its cost follows the arrears, not the book."""
    scope = visible_facilities(viewer=viewer).filter(status=FacilityStatus.ACTIVE).values("pk")
    rows = (
        Instalment.objects.filter(
            facility_id__in=scope, schedule_version=F("facility__schedule_version"), due_date__lt=as_of
        )
        .filter(UNPAID)
        .values("facility_id", "facility__currency", "facility__outstanding_principal")
        .annotate(
            oldest=Min("due_date"),
            owed=Sum(
                F("principal")
                - F("principal_paid")
                + F("interest")
                - F("interest_paid")
                + F("fees")
                - F("fees_paid"),
                output_field=MONEY,
            ),
        )
        .order_by()
    )
    counts = [0 for _ in BUCKETS]
    outstanding = [ZERO for _ in BUCKETS]
    arrears = [ZERO for _ in BUCKETS]
    for row in rows:
        index = bucket_of((as_of - row["oldest"]).days)
        if index is None:
            continue
        currency = row["facility__currency"]
        counts[index] += 1
        outstanding[index] += to_base(row["facility__outstanding_principal"], currency)
        arrears[index] += to_base(cents(row["owed"]), currency)
    return [Bucket(low, high, counts[i], outstanding[i], arrears[i]) for i, (low, high) in enumerate(BUCKETS)]
