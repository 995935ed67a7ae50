"""Restructuring (reschedule, term extension, rate change): requested with the new terms, approved by
someone else, and only then applied — a new schedule version from the effective date, the facility's
terms updated, `restructured_on` set and the classification at least special mention."""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES, Role
from lendcrm.pipeline.models import RateType
from lendcrm.servicing import classification as rules
from lendcrm.servicing import schedules
from lendcrm.servicing.classification_selectors import restructurings
from lendcrm.servicing.models import (
    Category,
    ClassificationBasis,
    Facility,
    FacilityStatus,
    GraceKind,
    RequestStatus,
    Restructuring,
    RestructuringKind,
    ScheduleProfile,
)
from lendcrm.servicing.selectors import current_schedule, visible_facilities
from lendcrm.servicing.services.classification import MAX_REASON, record_rule_change
from lendcrm.servicing.services.drawdowns import new_schedule_version, rebuild_terms

# The terms a restructuring may change, with the facility field each one sets.
TERM_KEYS = (
    "maturity_date",
    "interest_rate_pct",
    "margin_pct",
    "profile",
    "frequency_months",
    "grace_months",
    "grace_kind",
    "balloon_amount",
)
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    RestructuringKind.TERM_EXTENSION: ("maturity_date",),
    RestructuringKind.RATE_CHANGE: ("interest_rate_pct", "margin_pct"),
}
MAX_RATE_PCT = Decimal(100)


@dataclass(frozen=True)
class Plan:
    """What approving a restructuring changes, once the schedule it gives has been built."""

    fields: dict[str, Any]  # the facility's columns that change, with their new values
    start: date  # the new schedule runs from here


def _parse_terms(raw: object) -> dict[str, Any]:
    """The new terms from input (JSON types or already typed), each checked on its own."""
    if not isinstance(raw, Mapping) or not raw:
        raise errors.field_error("terms", _("Give at least one new term."))
    problems: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"terms.{key}"
        if key not in TERM_KEYS:
            problems[name] = [_("Not a term a restructuring changes.")]
            continue
        try:
            parsed[key] = _parse_term(key, value)
        except ValueError as exc:
            problems[name] = [str(exc)]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    return parsed


def _parse_term(key: str, value: object) -> Any:
    if key == "maturity_date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)) if isinstance(value, str) else _fail(_("Give a date."))
        except ValueError:
            _fail(_("Give a date as YYYY-MM-DD."))
    if key in ("interest_rate_pct", "margin_pct", "balloon_amount"):
        if key == "balloon_amount" and value is None:
            return None
        amount = _decimal(value)
        if amount is None:
            _fail(_("Give a decimal number as a string."))
        low = -MAX_RATE_PCT if key == "margin_pct" else Decimal(0)
        if (key == "balloon_amount" and amount <= 0) or (
            key != "balloon_amount" and not low <= amount <= MAX_RATE_PCT
        ):
            _fail(_("Out of range."))
        return amount
    if key in ("frequency_months", "grace_months"):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(_("Give a whole number."))
        if key == "frequency_months" and value not in schedules.FREQUENCIES:
            _fail(_("Every 1, 3, 6 or 12 months."))
        if key == "grace_months" and not 0 <= value <= schedules.MAX_TENOR_MONTHS:
            _fail(_("Out of range."))
        return value
    choices = ScheduleProfile.values if key == "profile" else GraceKind.values
    if value not in choices:
        _fail(_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)})
    return value


def _fail(message: str) -> NoReturn:
    raise ValueError(message)


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return None
        return parsed if parsed.is_finite() else None
    return None


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def plan(facility: Facility, kind: str, terms: Mapping[str, Any], effective_on: date) -> Plan:
    """The facility's changed terms if the restructuring took effect on `effective_on`, checked by building
    the schedule they give the way approval will (`drawdowns.reschedule`): lines due on or before that day
    stay as they are (arrears stay arrears); the principal not yet due is scheduled afresh from it, on the
    facility's payment-date grid. Raises ValidationFailed (fields `terms.*`, `effective_on`)."""
    fields: dict[str, Any] = {}
    for key, value in terms.items():
        if key == "margin_pct":
            if facility.rate_type != RateType.FLOATING:
                raise errors.field_error("terms.margin_pct", _("A fixed-rate facility changes its rate."))
            fields["margin_pct"] = value
            fields["interest_rate_pct"] = (facility.base_rate_pct or Decimal(0)) + value
        elif key == "interest_rate_pct":
            if facility.rate_type == RateType.FLOATING:
                raise errors.field_error(
                    "terms.interest_rate_pct", _("A floating-rate facility changes its margin.")
                )
            fields[key] = value
        else:
            fields[key] = value
    changed = {k: v for k, v in fields.items() if getattr(facility, k) != v}
    if not changed:
        raise errors.field_error("terms", _("These are the facility's terms already."))
    required_given = [k for k in REQUIRED_BY_KIND.get(kind, ()) if k in terms]
    if kind in REQUIRED_BY_KIND and not required_given:
        key = REQUIRED_BY_KIND[kind][0] if facility.rate_type != RateType.FLOATING else "margin_pct"
        raise errors.field_error(f"terms.{key}", _("This kind of restructuring changes this term."))
    maturity = fields.get("maturity_date", facility.maturity_date)
    if kind == RestructuringKind.TERM_EXTENSION and maturity <= facility.maturity_date:
        raise errors.field_error("terms.maturity_date", _("An extension moves the maturity later."))
    if not facility.start_date < effective_on < maturity:
        raise errors.field_error("effective_on", _("Give a date after the start and before the maturity."))
    trial = copy.copy(facility)
    for key, value in fields.items():
        setattr(trial, key, value)
    trial.grace_months = grace_from_start(facility, fields, effective_on)
    future = [line for line in current_schedule(facility) if line.due_date > effective_on]
    if future:
        principal = future[0].opening_balance - sum((line.principal_paid for line in future), Decimal(0))
        try:
            schedules.build_schedule(rebuild_terms(trial, principal=principal, start_date=effective_on))
        except errors.ValidationFailed as exc:
            raise errors.ValidationFailed(
                exc.detail, field_errors={f"terms.{k}": v for k, v in exc.field_errors.items()}
            ) from exc
    return Plan(fields=changed, start=effective_on)


def grace_from_start(facility: Facility, fields: Mapping[str, Any], start: date) -> int:
    """A restructuring's `grace_months` counts from the new schedule's start; the facility's from its own."""
    if "grace_months" not in fields:
        return facility.grace_months
    return max(0, _months_between(facility.start_date, start)) + int(fields["grace_months"])


def _term_json(values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(audit.to_jsonable(dict(values)))


def _may_request(actor: User) -> bool:
    return actor.is_active and bool(actor.role_slugs & (MONITORING_ROLES | {Role.RELATIONSHIP_MANAGER}))


def _lock_facility(actor: User, facility_id: object) -> Facility:
    facility = locked_row(visible_facilities(viewer=actor), row_id(facility_id))
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(
            _("This facility is %(status)s.") % {"status": facility.get_status_display()},
            code="facility_not_active",
        )
    return facility


def request_restructuring(
    *,
    actor: User,
    facility_id: object,
    kind: str,
    terms: Mapping[str, Any],
    reason: str,
    effective_on: date,
) -> Restructuring:
    """A monitoring officer or the relationship manager asks to change a facility's terms from a date; the
    terms are checked by building the schedule they would give, and nothing changes until approval."""
    if not _may_request(actor):
        raise errors.PermissionDenied(_("Only a monitoring officer or a relationship manager asks for this."))
    problems: dict[str, list[str]] = {}
    if kind not in RestructuringKind.values:
        problems["kind"] = [_("Choose reschedule, term extension or rate change.")]
    if not isinstance(effective_on, date) or effective_on < timezone.localdate():
        problems["effective_on"] = [_("Give today or a later date.")]
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON:
        problems["reason"] = [_("Give the reason (at most %(n)d characters).") % {"n": MAX_REASON}]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    parsed = _parse_terms(terms)
    with transaction.atomic():
        facility = _lock_facility(actor, facility_id)
        if Restructuring.objects.filter(facility=facility, status=RequestStatus.PENDING).exists():
            raise errors.Conflict(
                _("A restructuring of this facility is already waiting for a decision."),
                code="request_pending",
            )
        proposed = plan(facility, kind, parsed, effective_on)
        row = Restructuring(
            facility=facility,
            kind=kind,
            terms=_term_json(parsed),
            previous_terms=_term_json({k: getattr(facility, k) for k in proposed.fields}),
            reason=text,
            effective_on=effective_on,
            requested_at=timezone.now(),
            requested_by=actor,
        )
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError as exc:
            raise errors.Conflict(code="request_pending") from exc
        _audit(actor, "restructuring.requested", row, facility, {"kind": kind, "terms": row.terms})
    return row


def _audit(
    actor: User | None, action: str, row: Restructuring, facility: Facility, changes: dict[str, Any]
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="restructuring",
        object_id=row.pk,
        party_id=facility.borrower_id,
        changes={"facility": facility.reference, **changes},
    )


def decide_restructuring(
    *, actor: User, restructuring_id: object, approve: bool, note: str = ""
) -> Restructuring:
    """An oversight approver other than the requester approves — the new terms and schedule take effect,
    the facility counts as restructured and is at least special mention — or rejects with a note. Terms
    that no longer give a schedule (the facility changed since the request) are refused (409)."""
    if not (actor.is_active and actor.role_slugs & OVERSIGHT_APPROVER_ROLES):
        raise errors.PermissionDenied(_("Only a monitoring officer or a credit approver decides."))
    if not isinstance(approve, bool):
        raise errors.field_error("approve", _("Say whether you approve."))
    note = note.strip() if isinstance(note, str) else ""
    if not approve and not note:
        raise errors.field_error("note", _("Say why the restructuring is rejected."))
    if len(note) > MAX_REASON:
        raise errors.field_error("note", _("At most %(n)d characters.") % {"n": MAX_REASON})
    with transaction.atomic():
        facility_id = (
            restructurings(viewer=actor)
            .filter(pk=row_id(restructuring_id))
            .values_list("facility_id", flat=True)
            .first()
        )
        if facility_id is None:
            raise errors.NotFound()
        facility = locked_row(visible_facilities(viewer=actor), facility_id)
        row = Restructuring.objects.select_for_update().get(pk=row_id(restructuring_id))
        if row.status != RequestStatus.PENDING:
            raise errors.Conflict(
                _("This restructuring is %(status)s.") % {"status": row.get_status_display()},
                code="request_decided",
            )
        if row.requested_by_id == actor.pk:
            raise errors.PermissionDenied(
                _("Someone other than the requester must decide (four-eyes)."), code="four_eyes"
            )
        changes: dict[str, Any] = {"note": note}
        if approve:
            changes.update(_apply(actor, facility, row))
        row.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        row.decided_at, row.decided_by, row.decision_note = timezone.now(), actor, note
        row.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "decision_note",
                "previous_terms",
                "schedule_version",
            ]
        )
        _audit(
            actor, "restructuring.approved" if approve else "restructuring.rejected", row, facility, changes
        )
    return row


def _apply(actor: User, facility: Facility, row: Restructuring) -> dict[str, Any]:
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(code="facility_not_active")
    if row.effective_on < timezone.localdate():
        # Instalments due since then may have been paid on the old terms: ask again from a current date.
        raise errors.Conflict(
            _("The effective date %(day)s has passed; ask again from today or later.")
            % {"day": row.effective_on},
            code="effective_date_passed",
        )
    try:
        proposed = plan(facility, row.kind, _parse_terms(row.terms), row.effective_on)
    except errors.ValidationFailed as exc:
        raise errors.Conflict(
            _("These terms no longer fit the facility: %(why)s") % {"why": exc.detail},
            code="terms_no_longer_fit",
            extra={"errors": exc.field_errors},
        ) from exc
    row.previous_terms = _term_json({k: getattr(facility, k) for k in proposed.fields})
    grace = grace_from_start(facility, proposed.fields, proposed.start)
    for key, value in proposed.fields.items():
        setattr(facility, key, value)
    facility.grace_months = grace
    if facility.outstanding_principal > 0:
        new_schedule_version(facility, from_date=row.effective_on)  # 409 schedule_refused if it cannot
    row.schedule_version = facility.schedule_version
    facility.restructured_on = row.effective_on
    change = record_rule_change(
        actor=actor,
        facility=facility,
        floor=rules.Floor(Category.SPECIAL_MENTION, ClassificationBasis.RESTRUCTURED),
        as_of=timezone.localdate(),
    )
    facility.version += 1
    facility.save()
    return {
        "before": row.previous_terms,
        "after": _term_json(proposed.fields),
        "schedule_version": facility.schedule_version,
        "category": facility.category if change else None,
    }
