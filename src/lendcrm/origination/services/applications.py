"""Applications: creation (typed in, or converted from an accepted proposal), draft edits, the document
checklist and every status move that is not a credit decision or an offer."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import may_write_customers
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import MAX_ID, row_id
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import workflow
from lendcrm.origination.authority import route_application
from lendcrm.origination.models import (
    Application,
    ApplicationFacility,
    ApplicationParty,
    ChecklistItem,
    ChecklistStatus,
    Condition,
    ConditionKind,
    ConditionStatus,
    CreditMemo,
    DocumentRequirement,
    Offer,
    OfferStatus,
    PartyRole,
    Status,
    StatusChange,
)
from lendcrm.origination.risk import default_lgd
from lendcrm.origination.selectors import visible_applications
from lendcrm.origination.terms import TERM_FIELDS, Problems, facilities_values
from lendcrm.parties.models import Party
from lendcrm.parties.selectors import visible_parties
from lendcrm.pipeline.models import Opportunity, Proposal

APPLICATION_FIELDS = ("reference", "borrower_id", "branch_id", "purpose", "status", "owner_id", "analyst_id")
UPDATABLE = frozenset({"purpose", "facilities", "parties"})
OTHER_ROLES = (PartyRole.CO_BORROWER, PartyRole.GUARANTOR, PartyRole.SPONSOR)
MAX_PARTIES = 30
MAX_PURPOSE = 10_000
# Moves that only the credit analyst makes; the maker (the owner) never reviews their own application.
ANALYST_MOVES = frozenset({Status.IN_REVIEW, Status.CREDIT_ANALYSIS, Status.PENDING_DECISION})
DECISION_MOVES = frozenset(
    {Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.DECLINED, Status.REFERRED_UP}
)
OFFER_MOVES = frozenset({Status.OFFER_ISSUED, Status.OFFER_ACCEPTED})
# Checklist statuses only the checker (a credit analyst, not the maker) sets; the maker's side sets the rest.
CHECKER_STATUSES = frozenset({ChecklistStatus.VERIFIED, ChecklistStatus.WAIVED})
REFERENCE_ATTEMPTS = 5

M = TypeVar("M", bound=models.Model)


# --- shared by every origination service ----------------------------------------------------------
def next_reference(model: type[models.Model], prefix: str) -> str:
    """The next "<prefix>-<year>-<6-digit sequence>" of `model` this year."""
    stem = f"{prefix}-{timezone.now().year}-"
    last = (
        model._default_manager.filter(reference__startswith=stem)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(last.removeprefix(stem)) + 1 if last else 1
    return f"{stem}{number:06d}"


def create_referenced(model: type[M], prefix: str, build: Callable[[str], M]) -> M:
    """Insert the row `build(reference)` makes under the next free reference; a concurrent insert that
    took the same number makes this one try the next (inside a savepoint, so the caller's work stays)."""
    for attempt in range(REFERENCE_ATTEMPTS):
        row = build(next_reference(model, prefix))
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            return row
        except IntegrityError:
            if (
                attempt == REFERENCE_ATTEMPTS - 1
                or not model._default_manager.filter(
                    reference=row.reference  # type: ignore[attr-defined]
                ).exists()
            ):
                raise
    raise AssertionError("unreachable")


def lock_application(*, actor: User, application_id: object) -> Application:
    """The application row locked for this transaction, if the actor may see it (404 otherwise)."""
    return locked_row(visible_applications(viewer=actor), row_id(application_id))


def is_maker_side(actor: User, application: Application) -> bool:
    """The owner, or anyone who may write customer data (and already sees the borrower)."""
    return actor.pk == application.owner_id or may_write_customers(actor)


def require_maker_side(actor: User, application: Application) -> None:
    if not is_maker_side(actor, application):
        raise errors.PermissionDenied(_("Only the relationship manager's side may do this."))


def require_analyst(actor: User, application: Application) -> None:
    """A credit analyst who is not the application's maker (four-eyes on the credit work)."""
    if not (actor.is_active and actor.has_role(Role.CREDIT_ANALYST)):
        raise errors.PermissionDenied(_("Only a credit analyst may do this."))
    if actor.pk == application.owner_id:
        raise errors.PermissionDenied(
            _("The relationship manager who prepared the application cannot review it."), code="maker"
        )


def bump(application: Application) -> None:
    application.version += 1
    application.save(update_fields=["version", "updated_at"])


# --- input ----------------------------------------------------------------------------------------
def _purpose_problems(purpose: object) -> Problems:
    if not isinstance(purpose, str):
        return {"purpose": [_("Must be text.")]}
    if len(purpose) > MAX_PURPOSE:
        return {"purpose": [_("At most %(n)d characters.") % {"n": MAX_PURPOSE}]}
    return {}


def _party_rows(actor: User, borrower: Party, raw: object) -> tuple[list[tuple[int, str]], Problems]:
    """Co-borrowers, guarantors and sponsors as (party id, role), each visible to the actor and
    named once per role; problems keyed `parties.<i>.<field>`."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return [], {"parties": [_("Send a list of parties.")]}
    if len(raw) > MAX_PARTIES:
        return [], {"parties": [_("At most %(n)d parties.") % {"n": MAX_PARTIES}]}
    problems: Problems = {}
    rows: list[tuple[int, str]] = []
    ids = [
        item.get("party")
        for item in raw
        if isinstance(item, Mapping) and type(item.get("party")) is int and 1 <= item["party"] <= MAX_ID
    ]
    seen = set(visible_parties(viewer=actor).filter(pk__in=ids).values_list("pk", flat=True))
    for index, item in enumerate(raw):
        key = f"parties.{index}"
        if not isinstance(item, Mapping):
            problems[key] = [_("Each party must be an object.")]
            continue
        for name in sorted(set(item) - {"party", "role"}):
            problems[f"{key}.{name}"] = [_("Unknown field.")]
        party_id: Any = item.get("party")
        role = item.get("role")
        if role not in OTHER_ROLES:
            problems[f"{key}.role"] = [
                _("Use one of: %(known)s.") % {"known": ", ".join(str(r) for r in OTHER_ROLES)}
            ]
        if type(party_id) is not int or party_id not in seen:
            problems[f"{key}.party"] = [_("No such party.")]
        elif party_id == borrower.pk:
            problems[f"{key}.party"] = [_("The borrower cannot also be a co-borrower, guarantor or sponsor.")]
        elif (party_id, role) in rows:
            problems[f"{key}.party"] = [_("This party already has this role.")]
        if f"{key}.party" not in problems and f"{key}.role" not in problems:
            rows.append((int(party_id), str(role)))
    return rows, problems


def _raise(problems: Problems) -> None:
    if problems:
        raise errors.ValidationFailed(field_errors=problems)


def _write_facilities(application: Application, facilities: list[dict[str, Any]]) -> None:
    ApplicationFacility.objects.bulk_create(
        [ApplicationFacility(application=application, **values) for values in facilities]
    )


def _write_parties(application: Application, rows: list[tuple[int, str]]) -> None:
    ApplicationParty.objects.bulk_create(
        [ApplicationParty(application=application, party_id=pk, role=role) for pk, role in rows]
    )


def _refresh_checklist(application: Application) -> None:
    """Ask for every document the requested products need (and those every application needs); items
    no longer needed go only while still untouched (status required)."""
    product_ids = set(application.facilities.values_list("product_id", flat=True))
    wanted: dict[str, DocumentRequirement] = {}
    for requirement in DocumentRequirement.objects.filter(
        models.Q(product__isnull=True) | models.Q(product_id__in=product_ids)
    ).order_by("position", "code", "id"):
        wanted.setdefault(requirement.code, requirement)
    held = {item.code: item for item in application.checklist.all()}
    stale = [
        item.pk
        for code, item in held.items()
        if code not in wanted and item.status == ChecklistStatus.REQUIRED
    ]
    if stale:
        ChecklistItem.objects.filter(pk__in=stale).delete()
    ChecklistItem.objects.bulk_create(
        [
            ChecklistItem(
                application=application,
                code=code,
                name=requirement.name,
                local_name=requirement.local_name,
                position=requirement.position,
            )
            for code, requirement in wanted.items()
            if code not in held
        ]
    )


def _facility_audit(facilities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"product": f["product"].code, "amount": f["amount"], "currency": f["currency"], "lgd": f["lgd"]}
        for f in facilities
    ]


# --- create ---------------------------------------------------------------------------------------
def create_application(
    *,
    actor: User,
    borrower_id: int,
    purpose: str = "",
    facilities: Sequence[Mapping[str, Any]] = (),
    parties: Sequence[Mapping[str, Any]] = (),
    opportunity_id: int | None = None,
) -> Application:
    """A draft application owned by the actor, with its parties, facilities and document checklist."""
    return _create(
        actor=actor,
        borrower_id=borrower_id,
        purpose=purpose,
        facilities=facilities,
        parties=parties,
        opportunity_id=opportunity_id,
        proposal=None,
    )


def create_application_from_proposal(*, actor: User, proposal: Proposal) -> Application:
    """The application an accepted proposal becomes: its facilities and guarantors copied, nothing
    re-typed. Runs inside the caller's transaction when there is one."""
    if Application.objects.filter(proposal_id=proposal.pk).exists():
        raise errors.Conflict(_("This proposal has already become an application."), code="already_converted")
    opportunity = proposal.opportunity
    facilities = [
        {"product": f.product.code, **{name: getattr(f, name) for name in TERM_FIELDS}}
        for f in proposal.facilities.select_related("product").order_by("position", "id")
    ]
    guarantors = [
        {"party": pk, "role": PartyRole.GUARANTOR}
        for pk in proposal.guarantors.order_by("pk").values_list("pk", flat=True)
    ]
    return _create(
        actor=actor,
        borrower_id=opportunity.party_id,
        purpose=proposal.summary or opportunity.title,
        facilities=facilities,
        parties=guarantors,
        opportunity_id=opportunity.pk,
        proposal=proposal,
    )


def _create(
    *,
    actor: User,
    borrower_id: int,
    purpose: str,
    facilities: Sequence[Mapping[str, Any]],
    parties: Sequence[Mapping[str, Any]],
    opportunity_id: int | None,
    proposal: Proposal | None,
) -> Application:
    borrower = visible_parties(viewer=actor).select_related("branch").filter(pk=borrower_id).first()
    if borrower is None:
        raise errors.NotFound()
    if not may_write_customers(actor):
        raise errors.PermissionDenied(_("Your roles do not allow changing customer data."))
    problems = _purpose_problems(purpose)
    facility_values, facility_problems = facilities_values(facilities, default_lgd=default_lgd(borrower.kind))
    party_rows, party_problems = _party_rows(actor, borrower, parties)
    problems |= facility_problems | party_problems
    if (
        opportunity_id is not None
        and not Opportunity.objects.filter(pk=opportunity_id, party_id=borrower.pk).exists()
    ):
        problems["opportunity"] = [_("No such opportunity for this borrower.")]
    _raise(problems)
    now = timezone.now()
    with transaction.atomic():
        application = create_referenced(
            Application,
            "APP",
            lambda reference: Application(
                reference=reference,
                borrower=borrower,
                branch_id=borrower.branch_id,
                opportunity_id=opportunity_id,
                proposal=proposal,
                purpose=purpose,
                status=Status.DRAFT,
                status_entered_at=now,
                owner=actor,
            ),
        )
        StatusChange.objects.create(
            application=application, from_status="", to_status=Status.DRAFT, changed_at=now, changed_by=actor
        )
        _write_parties(application, [(borrower.pk, PartyRole.BORROWER), *party_rows])
        _write_facilities(application, facility_values)
        _refresh_checklist(application)
        audit.record(
            actor=actor,
            action="application.created",
            object_type="application",
            object_id=application.pk,
            party_id=borrower.pk,
            changes={
                "after": {
                    **audit.snapshot(application, APPLICATION_FIELDS),
                    "proposal_id": proposal.pk if proposal else None,
                    "facilities": _facility_audit(facility_values),
                    "parties": party_rows,
                }
            },
        )
    return application


# --- draft edits and the checklist ----------------------------------------------------------------
def update_application(
    *, actor: User, application_id: object, changes: Mapping[str, Any], expected_version: int | None
) -> Application:
    """Change a draft's purpose, or replace its facilities or other parties (409 once submitted)."""
    _raise({name: [_("Unknown field.")] for name in sorted(set(changes) - UPDATABLE)})
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        check_version(application, expected_version)
        require_maker_side(actor, application)
        if application.status != Status.DRAFT:
            raise errors.Conflict(_("Only a draft application can be edited."), code="not_draft")
        borrower = Party.objects.get(pk=application.borrower_id)
        problems: Problems = {}
        after: dict[str, Any] = {}
        if "purpose" in changes:
            problems |= _purpose_problems(changes["purpose"])
        if "facilities" in changes:
            facilities, facility_problems = facilities_values(
                changes["facilities"], default_lgd=default_lgd(borrower.kind)
            )
            problems |= facility_problems
        if "parties" in changes:
            party_rows, party_problems = _party_rows(actor, borrower, changes["parties"])
            problems |= party_problems
        _raise(problems)
        before = audit.snapshot(application, APPLICATION_FIELDS)
        if "purpose" in changes:
            application.purpose = changes["purpose"]
            application.save(update_fields=["purpose"])
        if "facilities" in changes:
            application.facilities.all().delete()
            _write_facilities(application, facilities)
            _refresh_checklist(application)
            after["facilities"] = _facility_audit(facilities)
        if "parties" in changes:
            application.parties.exclude(role=PartyRole.BORROWER).delete()
            _write_parties(application, party_rows)
            after["parties"] = party_rows
        bump(application)
        change = audit.diff(before, audit.snapshot(application, APPLICATION_FIELDS))
        change["after"].update(after)
        audit.record(
            actor=actor,
            action="application.updated",
            object_type="application",
            object_id=application.pk,
            party_id=application.borrower_id,
            changes=change,
        )
    return application


def _require_checklist_right(actor: User, application: Application, status: str) -> None:
    """Receiving is front-office work; verifying and waiving are the credit analyst's, so the maker never
    signs off their own papers."""
    if status in CHECKER_STATUSES:
        require_analyst(actor, application)
    else:
        require_maker_side(actor, application)


def checklist_statuses(actor: User, application: Application) -> list[str]:
    """The checklist statuses `actor` may set on `application`: what the page offers, by the same rule
    `update_checklist_item` enforces."""
    allowed = []
    for status in ChecklistStatus.values:
        try:
            _require_checklist_right(actor, application, status)
        except errors.PermissionDenied:
            continue
        allowed.append(status)
    return allowed


def update_checklist_item(
    *, actor: User, application_id: object, item_id: object, status: str, waiver_reason: str = ""
) -> ChecklistItem:
    """Mark a document required, received, verified or waived (with a reason), each by the side
    `_require_checklist_right` names."""
    if status not in ChecklistStatus.values:
        raise errors.field_error("status", _("Unknown checklist status."))
    if not isinstance(waiver_reason, str) or len(waiver_reason) > 500:
        raise errors.field_error("waiver_reason", _("At most %(n)d characters.") % {"n": 500})
    if status == ChecklistStatus.WAIVED and not waiver_reason.strip():
        raise errors.field_error("waiver_reason", _("Say why the document is waived."))
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        item = ChecklistItem.objects.filter(application=application, pk=row_id(item_id)).first()
        if item is None:
            raise errors.NotFound()
        _require_checklist_right(actor, application, status)
        if application.status not in workflow.OPEN:
            raise errors.Conflict(_("This application is closed."), code="application_closed")
        before = audit.snapshot(item, ("status", "waiver_reason"))
        item.status = status
        item.waiver_reason = waiver_reason.strip() if status == ChecklistStatus.WAIVED else ""
        item.updated_at = timezone.now()
        item.updated_by = actor
        item.save(update_fields=["status", "waiver_reason", "updated_at", "updated_by"])
        bump(application)
        audit.record(
            actor=actor,
            action="application.checklist_updated",
            object_type="application",
            object_id=application.pk,
            party_id=application.borrower_id,
            changes={
                "item": item.code,
                **audit.diff(before, audit.snapshot(item, ("status", "waiver_reason"))),
            },
        )
    return item


# --- status moves ---------------------------------------------------------------------------------
def transition(
    *,
    actor: User,
    application_id: object,
    to_status: str,
    note: str = "",
    expected_version: int | None = None,
) -> Application:
    """Move an application to `to_status` if the graph, the actor's role and the data allow it; any
    refusal changes nothing. Decisions and offers have their own services."""
    if not isinstance(note, str) or len(note) > 500:
        raise errors.field_error("note", _("At most %(n)d characters.") % {"n": 500})
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        check_version(application, expected_version)
        if to_status in DECISION_MOVES:
            raise errors.Conflict(
                _("A credit decision is recorded through the decisions of the application."),
                code="use_decisions",
            )
        if to_status in OFFER_MOVES:
            raise errors.Conflict(
                _("Offers are issued and accepted through the offers of the application."), code="use_offers"
            )
        if to_status == Status.BOOKED:
            raise errors.Conflict(
                _("An application is booked through its facilities, by loan operations."), code="use_booking"
            )
        if workflow.allowed(application.status, to_status):
            _guard(actor, application, to_status)
            _on_entering(application, to_status, actor)
        workflow.move(application, to_status, actor=actor, note=note)  # 409 illegal_transition if not allowed
    return application


def _on_entering(application: Application, to_status: str, actor: User) -> None:
    """What a move sets besides the status, in the same transaction."""
    if to_status == Status.CREDIT_ANALYSIS:
        application.analyst = actor
        application.save(update_fields=["analyst"])
    elif to_status == Status.SUBMITTED:
        application.submitted_at = timezone.now()
        application.save(update_fields=["submitted_at"])
    elif to_status == Status.PENDING_DECISION:
        route_application(application, actor=actor)
    elif to_status == Status.WITHDRAWN:
        close_live_offers(application, OfferStatus.WITHDRAWN)
    elif to_status == Status.EXPIRED:
        close_live_offers(application, OfferStatus.EXPIRED)


def close_live_offers(application: Application, status: str) -> None:
    """An application that ends takes its live offer with it."""
    Offer.objects.filter(application=application, status=OfferStatus.ISSUED).update(
        status=status, version=models.F("version") + 1, updated_at=timezone.now()
    )


def _guard(actor: User, application: Application, to_status: str) -> None:
    """Who may make this move, and what the data must say first."""
    from_status = application.status
    if to_status in ANALYST_MOVES or (from_status == Status.IN_REVIEW and to_status == Status.DRAFT):
        require_analyst(actor, application)
    elif to_status == Status.EXPIRED:
        if not (actor.pk == application.owner_id or actor.has_role(Role.CREDIT_ANALYST)):
            raise errors.PermissionDenied(_("Only the owner or a credit analyst may expire an application."))
    else:
        require_maker_side(actor, application)
    if to_status == Status.SUBMITTED and not application.facilities.exists():
        raise errors.Conflict(_("Add at least one facility before submitting."), code="no_facilities")
    if to_status == Status.PENDING_DECISION:
        memo = CreditMemo.objects.filter(application=application).first()
        if memo is None or memo.completed_at is None or memo.risk_grade_id is None:
            raise errors.Conflict(
                _("Complete the credit memo with a risk grade before sending it for decision."),
                code="memo_incomplete",
            )
    if (
        to_status == Status.CONDITIONS_MET
        and Condition.objects.filter(
            application=application, kind=ConditionKind.PRECEDENT, status=ConditionStatus.OPEN
        ).exists()
    ):
        raise errors.Conflict(_("Some conditions precedent are still open."), code="conditions_open")
    if (
        to_status == Status.READY_TO_DISBURSE
        and application.checklist.exclude(
            status__in=(ChecklistStatus.VERIFIED, ChecklistStatus.WAIVED)
        ).exists()
    ):
        raise errors.Conflict(
            _("Every document must be verified or waived first."), code="checklist_incomplete"
        )
