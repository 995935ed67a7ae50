"""Offers: made from the approved terms, then accepted, withdrawn or left to expire — each moving the
application with it."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import workflow
from lendcrm.origination.models import Application, Offer, OfferStatus, Status
from lendcrm.origination.selectors import visible_offers
from lendcrm.origination.services.applications import (
    create_referenced,
    lock_application,
    require_maker_side,
)
from lendcrm.origination.terms import TERM_FIELDS

MAX_OFFER_DAYS = 366


def offer_terms(application: Application) -> dict[str, Any]:
    """The snapshot the customer accepts: the facilities as approved and the conditions attached."""
    facilities = application.facilities.select_related("product").order_by("position", "id")
    conditions = application.conditions.order_by("id")
    return audit.to_jsonable(
        {
            "application": application.reference,
            "borrower": {"id": application.borrower_id, "name": application.borrower.legal_name},
            "facilities": [
                {
                    "product": f.product.code,
                    "product_name": f.product.name,
                    **{n: getattr(f, n) for n in TERM_FIELDS},
                }
                for f in facilities
            ],
            "conditions": [{"kind": c.kind, "text": c.text, "status": c.status} for c in conditions],
        }
    )


def issue_offer(*, actor: User, application_id: object, expires_on: date) -> Offer:
    """Make the offer of an approved application, valid until `expires_on` (inclusive)."""
    today = timezone.localdate()
    if not isinstance(expires_on, date) or not today < expires_on <= date.fromordinal(
        today.toordinal() + MAX_OFFER_DAYS
    ):
        raise errors.field_error(
            "expires_on", _("Give a date after today and within %(n)d days.") % {"n": MAX_OFFER_DAYS}
        )
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        require_maker_side(actor, application)
        if not workflow.allowed(application.status, Status.OFFER_ISSUED):
            workflow.move(application, Status.OFFER_ISSUED, actor=actor)  # 409 illegal_transition
        now = timezone.now()
        terms = offer_terms(application)
        offer = create_referenced(
            Offer,
            "OFF",
            lambda reference: Offer(
                application=application,
                reference=reference,
                terms=terms,
                issued_at=now,
                issued_by=actor,
                expires_on=expires_on,
            ),
        )
        _audit(actor, offer, application, "offer.issued", {"expires_on": expires_on})
        workflow.move(application, Status.OFFER_ISSUED, actor=actor, note=offer.reference)
    return offer


def _audit(
    actor: User | None, offer: Offer, application: Application, action: str, changes: dict[str, Any]
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="offer",
        object_id=offer.pk,
        party_id=application.borrower_id,
        changes={"reference": offer.reference, **changes},
    )


def _locked(actor: User, offer_id: object, expected_version: int | None) -> tuple[Offer, Application]:
    """The offer and its application, both locked (application first, as every application write does)."""
    found = visible_offers(viewer=actor).filter(pk=row_id(offer_id)).values_list("application_id", flat=True)
    application_id = found.first()
    if application_id is None:
        raise errors.NotFound()
    application = lock_application(actor=actor, application_id=application_id)
    offer = Offer.objects.select_for_update().get(pk=row_id(offer_id))
    check_version(offer, expected_version)
    if offer.status != OfferStatus.ISSUED:
        raise errors.Conflict(
            _("This offer is %(status)s.") % {"status": offer.get_status_display()}, code="offer_not_live"
        )
    return offer, application


def _close(offer: Offer, status: str) -> None:
    offer.status = status
    offer.version += 1
    offer.save(update_fields=["status", "accepted_at", "version", "updated_at"])


def accept_offer(
    *, actor: User, offer_id: object, expected_version: int | None = None, today: date | None = None
) -> Offer:
    """Record the customer's acceptance; an offer past its expiry date can no longer be accepted."""
    today = today or timezone.localdate()
    with transaction.atomic():
        offer, application = _locked(actor, offer_id, expected_version)
        require_maker_side(actor, application)
        if offer.expires_on < today:
            raise errors.Conflict(
                _("This offer expired on %(day)s.") % {"day": offer.expires_on}, code="offer_expired"
            )
        offer.accepted_at = timezone.now()
        _close(offer, OfferStatus.ACCEPTED)
        _audit(actor, offer, application, "offer.accepted", {})
        workflow.move(application, Status.OFFER_ACCEPTED, actor=actor, note=offer.reference)
    return offer


def withdraw_offer(
    *, actor: User, offer_id: object, note: str = "", expected_version: int | None = None
) -> Offer:
    """The bank withdraws its offer; the application ends as withdrawn."""
    with transaction.atomic():
        offer, application = _locked(actor, offer_id, expected_version)
        require_maker_side(actor, application)
        _close(offer, OfferStatus.WITHDRAWN)
        _audit(actor, offer, application, "offer.withdrawn", {"note": note})
        workflow.move(application, Status.WITHDRAWN, actor=actor, note=note or offer.reference)
    return offer


def expire_offer(*, actor: User, offer_id: object, today: date | None = None) -> Offer:
    """Expire an offer past its date (the owner or a credit analyst, or the daily job); the application
    expires with it."""
    today = today or timezone.localdate()
    with transaction.atomic():
        offer, application = _locked(actor, offer_id, None)
        if not (actor.pk == application.owner_id or actor.has_role(Role.CREDIT_ANALYST)):
            raise errors.PermissionDenied(_("Only the owner or a credit analyst may expire an offer."))
        _expire(actor, offer, application, today)
    return offer


def _expire(actor: User | None, offer: Offer, application: Application, today: date) -> None:
    if offer.expires_on >= today:
        raise errors.Conflict(
            _("This offer is valid until %(day)s.") % {"day": offer.expires_on}, code="offer_not_due"
        )
    _close(offer, OfferStatus.EXPIRED)
    _audit(actor, offer, application, "offer.expired", {"expires_on": offer.expires_on})
    workflow.move(application, Status.EXPIRED, actor=actor, note=offer.reference)


def expire_stale(*, actor: User | None, today: date) -> list[str]:
    """The daily job: expire every live offer past its date, and its application. `actor` is None when the
    job runs on its own (`lendcrm expire_offers`: history and audit name no one); it is not scoped, the job
    sees the whole book. Returns the references."""
    expired = []
    stale = Offer.objects.filter(status=OfferStatus.ISSUED, expires_on__lt=today).order_by("id")
    for offer_id in stale.values_list("id", flat=True):
        with transaction.atomic():
            application = Application.objects.select_for_update(of=("self",)).get(offers__id=offer_id)
            offer = Offer.objects.select_for_update().get(pk=offer_id)
            if offer.status != OfferStatus.ISSUED:
                continue
            _expire(actor, offer, application, today)
            expired.append(offer.reference)
    return expired
