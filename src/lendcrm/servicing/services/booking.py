"""Booking: an application ready to disburse becomes one facility per approved facility, with the approved
terms copied (never re-typed) and what only loan operations knows at booking added — the facility kind,
schedule conventions, the base-rate value of a floating rate, the availability and construction periods,
the target DSCR and CFADS of a sculpted project-finance loan."""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import BOOKING_ROLES, Role
from lendcrm.origination import workflow
from lendcrm.origination.models import Application, ApplicationFacility, PartyRole, Status
from lendcrm.origination.selectors import visible_applications
from lendcrm.origination.services.applications import create_referenced
from lendcrm.pipeline.models import RateType, RepaymentProfile
from lendcrm.pipeline.terms import check_rate
from lendcrm.pipeline.validation import Invalid, Problems, check_choice, check_int, collect, refuse
from lendcrm.servicing import schedules
from lendcrm.servicing.daycount import grid_date
from lendcrm.servicing.models import (
    BusinessDayRule,
    DayCount,
    Facility,
    FacilityGuarantor,
    FacilityKind,
    GraceKind,
    ScheduleProfile,
)

BOOKING_FIELDS = (
    "application_facility",
    "kind",
    "profile",
    "day_count",
    "frequency_months",
    "business_day_rule",
    "base_rate_pct",
    "availability_end",
    "construction_end",
    "grace_kind",
    "target_dscr",
    "cfads",
    "monitor",
)
FREQUENCIES = (1, 3, 6, 12)
# The facility kind a product is booked as unless loan operations says otherwise.
KIND_OF_PRODUCT = {
    "revolving_facility": FacilityKind.REVOLVING,
    "project_finance": FacilityKind.PROJECT_FINANCE,
    "guarantee": FacilityKind.GUARANTEE,
}
ZERO_MONEY = Decimal("0.00")
DSCR_RANGE = (Decimal("1.000"), Decimal("10.000"))
MAX_CFADS = Decimal("1e17")
AUDITED = (
    "reference",
    "application_facility_id",
    "kind",
    "currency",
    "limit",
    "interest_rate_pct",
    "profile",
    "frequency_months",
    "day_count",
    "business_day_rule",
    "grace_months",
    "grace_kind",
    "start_date",
    "availability_end",
    "construction_end",
    "maturity_date",
    "target_dscr",
)


def require_booking_role(actor: User) -> None:
    if not (actor.is_active and actor.role_slugs & BOOKING_ROLES):
        raise errors.PermissionDenied(_("Only loan operations books facilities and pays out drawdowns."))


def _payment_dates(
    approved: ApplicationFacility, terms: dict[str, Any], start_date: date
) -> list[date] | None:
    """The due dates the facility's schedule will have (adjusted, merged as the engine merges them); None
    when the terms are refused anyway (their problems are reported on their own fields)."""
    probe = schedules.ScheduleTerms(
        principal=approved.amount,
        currency=approved.currency,
        annual_rate_pct=terms["interest_rate_pct"] or Decimal(0),
        start_date=start_date,
        maturity_date=terms["maturity_date"],
        frequency_months=terms["frequency_months"],
        profile=ScheduleProfile.BULLET,
        day_count=terms["day_count"],
        business_day_rule=terms["business_day_rule"],
    )
    try:
        return schedules.payment_dates(probe)
    except errors.ValidationFailed:
        return None


def _date(value: object) -> date:
    if not isinstance(value, date):
        raise Invalid(_("Must be a date."))
    return value


def _dscr(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise Invalid(_("Must be a decimal number."))
    ratio = Decimal(value)
    low, high = DSCR_RANGE
    if not ratio.is_finite() or not low < ratio <= high:
        raise Invalid(_("Must be above %(low)s and at most %(high)s.") % {"low": low, "high": high})
    exponent = ratio.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        raise Invalid(_("At most %(places)d decimal places.") % {"places": 3})
    return ratio


def _cfads(value: object) -> list[Decimal]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise Invalid(_("Give one CFADS amount per payment date."))
    amounts = []
    for raw in value:
        if isinstance(raw, bool) or not isinstance(raw, Decimal | int):
            raise Invalid(_("Every CFADS must be a decimal number."))
        amount = Decimal(raw)
        if not amount.is_finite() or not Decimal(0) <= amount < MAX_CFADS:
            raise Invalid(_("Every CFADS must be zero or more."))
        amounts.append(amount.quantize(Decimal("0.01")))
    return amounts


def _monitor(value: object) -> int:
    pk = value if isinstance(value, int) and not isinstance(value, bool) else None
    found = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if found is None or not found.has_role(Role.PORTFOLIO_MONITOR):
        raise Invalid(_("Choose an active portfolio monitor."))
    return found.pk


def _months_between(start: date, end: date) -> int:
    """Whole months from start to end, rounded up."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + (1 if grid_date(start, months) < end else 0)


def _terms(
    approved: ApplicationFacility, given: Mapping[str, Any], start_date: date, at: str, problems: Problems
) -> dict[str, Any]:
    """The facility's columns from the approved terms and what booking adds; problems keyed `<at>.<field>`."""

    def name(part: str) -> str:
        return f"{at}.{part}"

    def value(key: str, check: Any, *args: Any, **kwargs: Any) -> Any:
        raw = given.get(key)
        return None if raw is None or raw == "" else collect(problems, name(key), check, raw, *args, **kwargs)

    def problem(key: str, message: str) -> None:
        problems.setdefault(name(key), []).append(message)

    for key in sorted(set(given) - set(BOOKING_FIELDS)):
        problem(key, _("Unknown field."))
    kind = value("kind", check_choice, FacilityKind) or KIND_OF_PRODUCT.get(
        approved.product.code, FacilityKind.TERM
    )
    frequency = value("frequency_months", check_int, low=1, high=12)
    if frequency is not None and frequency not in FREQUENCIES:
        problem("frequency_months", _("Use 1, 3, 6 or 12 months."))
    frequency = frequency or 1
    maturity = grid_date(start_date, approved.tenor_months)
    terms: dict[str, Any] = {
        "kind": kind,
        "day_count": value("day_count", check_choice, DayCount) or settings.LENDCRM_DEFAULT_DAY_COUNT,
        "business_day_rule": value("business_day_rule", check_choice, BusinessDayRule)
        or BusinessDayRule.MODIFIED_FOLLOWING,
        "frequency_months": frequency,
        "maturity_date": maturity,
        "grace_months": approved.grace_months,
        "target_dscr": value("target_dscr", _dscr),
        "sculpting_cfads": [],
        "monitor_id": value("monitor", _monitor),
        "profile": "",
        "balloon_amount": None,
        "base_rate_pct": None,
        "interest_rate_pct": None,
    }
    _profile(approved, given, terms, value, problem)
    _rate(approved, given, terms, value, problem)
    _periods(approved, given, start_date, terms, value, problem)
    if terms["profile"] == ScheduleProfile.SCULPTED:
        cfads = value("cfads", _cfads)
        dates = _payment_dates(approved, terms, start_date)
        if cfads is None and name("cfads") not in problems:
            problem("cfads", _("A sculpted schedule needs the CFADS of every payment date."))
        elif cfads is not None and dates is not None and len(cfads) != len(dates):
            problem("cfads", _("Give %(n)d amounts, one per payment date.") % {"n": len(dates)})
        elif cfads is not None:
            terms["sculpting_cfads"] = [str(amount) for amount in cfads]
        if terms["target_dscr"] is None and name("target_dscr") not in problems:
            problem("target_dscr", _("A sculpted schedule needs the target DSCR."))
    elif given.get("cfads") not in (None, "") or terms["target_dscr"] is not None:
        problem("cfads" if given.get("cfads") else "target_dscr", _("Only a sculpted schedule has these."))
    return terms


def _profile(
    approved: ApplicationFacility, given: Mapping[str, Any], terms: dict[str, Any], value: Any, problem: Any
) -> None:
    """The approved profile; a custom one is chosen at booking, and a project-finance loan may be sculpted."""
    chosen = value("profile", check_choice, ScheduleProfile)
    approved_profile = approved.repayment_profile
    if chosen is None:
        if approved_profile == RepaymentProfile.CUSTOM:
            if "profile" not in given:
                problem("profile", _("The approved profile is custom: choose the schedule to book."))
            return
        chosen = approved_profile
    elif chosen != approved_profile and approved_profile != RepaymentProfile.CUSTOM:
        sculpting = chosen == ScheduleProfile.SCULPTED and terms["kind"] == FacilityKind.PROJECT_FINANCE
        if not sculpting:
            problem(
                "profile",
                _("The approved profile is %(profile)s.")
                % {"profile": approved.get_repayment_profile_display()},
            )
            return
    if chosen == ScheduleProfile.SCULPTED and terms["kind"] != FacilityKind.PROJECT_FINANCE:
        problem("profile", _("Only a project-finance loan is sculpted."))
    if chosen == ScheduleProfile.BALLOON and approved.balloon_amount is None:
        problem("profile", _("The approved terms have no balloon."))
    terms["profile"] = chosen
    terms["balloon_amount"] = approved.balloon_amount if chosen == ScheduleProfile.BALLOON else None


def _rate(
    approved: ApplicationFacility, given: Mapping[str, Any], terms: dict[str, Any], value: Any, problem: Any
) -> None:
    """Fixed: the approved rate. Floating: the base rate's value today (given at booking) plus the margin."""
    if approved.rate_type == RateType.FIXED:
        if given.get("base_rate_pct") not in (None, ""):
            problem("base_rate_pct", _("A fixed rate has no base rate."))
        terms.update(base_rate_pct=None, interest_rate_pct=approved.fixed_rate_pct)
        return
    base = value("base_rate_pct", check_rate, low=Decimal(-100))
    if base is None:
        if given.get("base_rate_pct") in (None, ""):
            problem(
                "base_rate_pct",
                _("Give the value of %(rate)s today.") % {"rate": approved.get_base_rate_display()},
            )
        return
    rate = base + (approved.margin_pct or Decimal(0))
    if rate < 0:
        problem("base_rate_pct", _("The interest rate (base rate + margin) cannot be negative."))
    terms.update(base_rate_pct=base, interest_rate_pct=rate)


def _periods(
    approved: ApplicationFacility,
    given: Mapping[str, Any],
    start_date: date,
    terms: dict[str, Any],
    value: Any,
    problem: Any,
) -> None:
    """Availability and construction: a project-finance loan draws during construction and repays after it
    (the construction months are a grace period, interest capitalised unless told otherwise)."""
    maturity, kind = terms["maturity_date"], terms["kind"]
    construction_end = value("construction_end", _date)
    if construction_end is not None:
        if kind != FacilityKind.PROJECT_FINANCE:
            problem("construction_end", _("Only a project-finance loan has a construction period."))
        elif not start_date < construction_end < maturity:
            problem(
                "construction_end",
                _("Must be after the start and before maturity (%(day)s).") % {"day": maturity},
            )
        else:
            months = _months_between(start_date, construction_end)
            frequency = terms["frequency_months"]
            months += -months % frequency
            terms["grace_months"] = max(terms["grace_months"], months)
            if terms["grace_months"] >= approved.tenor_months:
                problem("construction_end", _("Construction must end before the last payment period."))
    terms["construction_end"] = construction_end
    default_grace = GraceKind.CAPITALISED if construction_end else GraceKind.INTEREST_ONLY
    terms["grace_kind"] = value("grace_kind", check_choice, GraceKind) or default_grace
    availability_end = value("availability_end", _date)
    if availability_end is None:
        if kind in (FacilityKind.REVOLVING, FacilityKind.GUARANTEE):
            availability_end = maturity
        elif construction_end is not None:
            availability_end = construction_end
        else:
            availability_end = grid_date(start_date, settings.LENDCRM_AVAILABILITY_MONTHS)
        availability_end = min(availability_end, maturity)
    elif not start_date <= availability_end <= maturity:
        problem("availability_end", _("Must be from the start to maturity (%(day)s).") % {"day": maturity})
    terms["availability_end"] = availability_end


def _entries(
    application: Application, approved: list[ApplicationFacility], raw: object
) -> list[dict[str, Any]]:
    """The facilities the application's approved facilities are booked as, in their order (400 otherwise)."""
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str | bytes)
        or not all(isinstance(i, Mapping) for i in raw)
    ):
        raise errors.field_error("facilities", _("Give one entry per approved facility."))
    by_id: dict[int, tuple[int, Mapping[str, Any]]] = {}
    problems: Problems = {}
    for index, item in enumerate(raw):
        pk = item.get("application_facility")
        if isinstance(pk, bool) or not isinstance(pk, int) or pk not in {f.pk for f in approved}:
            problems[f"facilities.{index}.application_facility"] = [_("Not a facility of this application.")]
        elif pk in by_id:
            problems[f"facilities.{index}.application_facility"] = [_("Booked once only.")]
        else:
            by_id[pk] = (index, item)
    missing = [f for f in approved if f.pk not in by_id]
    if missing and not problems:
        problems["facilities"] = [
            _("Book every approved facility; missing: %(items)s.")
            % {"items": ", ".join(str(f.position + 1) for f in missing)}
        ]
    refuse(problems)
    return [{"index": by_id[f.pk][0], "given": by_id[f.pk][1], "approved": f} for f in approved]


def book_application(
    *, actor: User, application_id: object, start_date: date, facilities: list[dict[str, Any]]
) -> list[Facility]:
    """Book an application that is ready to disburse: one facility per approved facility (`facilities`
    names each by `application_facility` with what booking adds), its guarantors from the application; the
    application moves to booked. 404 out of scope, 403 without the loan-operations role, 409 when the
    application is not ready to disburse, 400 with field errors on bad input — any refusal changes nothing."""
    if not isinstance(start_date, date):
        raise errors.field_error("start_date", _("Must be a date."))
    with transaction.atomic():
        application = locked_row(visible_applications(viewer=actor), row_id(application_id))
        require_booking_role(actor)
        if application.status != Status.READY_TO_DISBURSE:
            raise errors.Conflict(
                _("Only an application ready to disburse can be booked; this one is %(status)s.")
                % {"status": application.get_status_display()},
                code="not_ready_to_disburse",
            )
        approved = list(application.facilities.select_related("product").order_by("position", "id"))
        problems: Problems = {}
        planned = []
        for entry in _entries(application, approved, facilities):
            at = f"facilities.{entry['index']}"
            planned.append(
                (entry["approved"], _terms(entry["approved"], entry["given"], start_date, at, problems))
            )
        refuse(problems)
        guarantors = list(
            application.parties.filter(role=PartyRole.GUARANTOR)
            .values_list("party_id", flat=True)
            .order_by("id")
        )
        now = timezone.now()
        booked = [
            _book_one(actor, application, terms_of, terms, start_date, now) for terms_of, terms in planned
        ]
        FacilityGuarantor.objects.bulk_create(
            [
                FacilityGuarantor(facility=facility, party_id=party_id)
                for facility in booked
                for party_id in guarantors
            ]
        )
        workflow.move(
            application, Status.BOOKED, actor=actor, note=", ".join(facility.reference for facility in booked)
        )
    return booked


def _book_one(
    actor: User,
    application: Application,
    approved: ApplicationFacility,
    terms: dict[str, Any],
    start: date,
    now: Any,
) -> Facility:
    facility = create_referenced(
        Facility,
        "FAC",
        lambda reference: Facility(
            reference=reference,
            application=application,
            application_facility=approved,
            borrower_id=application.borrower_id,
            branch_id=application.branch_id,
            product_id=approved.product_id,
            currency=approved.currency,
            limit=approved.amount,
            rate_type=approved.rate_type,
            base_rate=approved.base_rate,
            margin_pct=approved.margin_pct,
            upfront_fee_pct=approved.upfront_fee_pct,
            commitment_fee_pct=approved.commitment_fee_pct,
            start_date=start,
            security=approved.security,
            lgd=approved.lgd,
            booked_at=now,
            booked_by=actor,
            drawn=ZERO_MONEY,
            outstanding_principal=ZERO_MONEY,
            arrears_principal=ZERO_MONEY,
            arrears_interest=ZERO_MONEY,
            arrears_fees=ZERO_MONEY,
            **terms,
        ),
    )
    audit.record(
        actor=actor,
        action="facility.booked",
        object_type="facility",
        object_id=facility.pk,
        party_id=facility.borrower_id,
        changes={"after": {**audit.snapshot(facility, AUDITED), "application": application.reference}},
    )
    return facility
