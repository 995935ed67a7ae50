"""The application state machine: which status may follow which, and the one function that moves it.

Services decide *whether* a move is allowed for this actor and this data (guards); `move` only checks
the graph, writes the status with its history row and audit event, and must run inside the caller's
transaction on a row the caller has locked (`select_for_update`).
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.models import User
from lendcrm.origination.models import Application, Status, StatusChange

# Statuses an application can still move out of; withdrawn and expired may follow any of them.
OPEN = frozenset(
    {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.CREDIT_ANALYSIS,
        Status.PENDING_DECISION,
        Status.APPROVED,
        Status.APPROVED_WITH_CONDITIONS,
        Status.REFERRED_UP,
        Status.OFFER_ISSUED,
        Status.OFFER_ACCEPTED,
        Status.CONDITIONS_MET,
    }
)
# Statuses in which a credit decision (or a committee vote) may be taken.
AWAITING_DECISION = frozenset({Status.PENDING_DECISION, Status.REFERRED_UP})
APPROVED = frozenset({Status.APPROVED, Status.APPROVED_WITH_CONDITIONS})

_FORWARD: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.IN_REVIEW}),
    # In review the analyst may send it back to the RM for missing documents.
    Status.IN_REVIEW: frozenset({Status.CREDIT_ANALYSIS, Status.DRAFT}),
    Status.CREDIT_ANALYSIS: frozenset({Status.PENDING_DECISION}),
    Status.PENDING_DECISION: frozenset(
        {Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.DECLINED, Status.REFERRED_UP}
    ),
    Status.REFERRED_UP: frozenset(
        {Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.DECLINED, Status.REFERRED_UP}
    ),
    Status.APPROVED: frozenset({Status.OFFER_ISSUED}),
    Status.APPROVED_WITH_CONDITIONS: frozenset({Status.OFFER_ISSUED}),
    Status.OFFER_ISSUED: frozenset({Status.OFFER_ACCEPTED}),
    Status.OFFER_ACCEPTED: frozenset({Status.CONDITIONS_MET}),
    Status.CONDITIONS_MET: frozenset({Status.READY_TO_DISBURSE}),
    # Booking the facilities (servicing.services.booking) is the last move.
    Status.READY_TO_DISBURSE: frozenset({Status.BOOKED}),
}

TRANSITIONS: dict[str, frozenset[str]] = {
    status: _FORWARD.get(status, frozenset())
    | (frozenset({Status.WITHDRAWN, Status.EXPIRED}) if status in OPEN else frozenset())
    for status in Status
}


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def move(application: Application, to_status: str, *, actor: User | None, note: str = "") -> None:
    """Move a locked application to `to_status`, or raise Conflict (409) and change nothing; `actor` is None
    only for a system job."""
    from_status = application.status
    if not allowed(from_status, to_status):
        raise errors.Conflict(
            _("An application cannot go from “%(from)s” to “%(to)s”.")
            % {"from": Status(from_status).label, "to": _status_label(to_status)},
            code="illegal_transition",
        )
    now = timezone.now()
    application.status = to_status
    application.status_entered_at = now
    application.version += 1
    application.save(update_fields=["status", "status_entered_at", "version", "updated_at"])
    StatusChange.objects.create(
        application=application,
        from_status=from_status,
        to_status=to_status,
        changed_at=now,
        changed_by=actor,
        note=note,
    )
    audit.record(
        actor=actor,
        action="application.transition",
        object_type="application",
        object_id=application.pk,
        party_id=application.borrower_id,
        changes={"status": [from_status, to_status]},
    )


def _status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value
