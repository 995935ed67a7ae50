"""Offers: issued from approved terms, accepted before expiry, withdrawn, or expired by the daily job."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.origination import services
from lendcrm.origination.models import Application, Offer, OfferStatus, Status
from tests.origination.conftest import AppFactory

pytestmark = pytest.mark.django_db
Client = Callable[[User | None], APIClient]


def _in(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def _status(application: Application) -> str:
    return Application.objects.values_list("status", flat=True).get(pk=application.pk)


def test_an_offer_snapshots_the_approved_terms(apps: AppFactory, rm_a: User) -> None:
    application = apps.at(Status.APPROVED)
    offer = services.issue_offer(actor=rm_a, application_id=application.pk, expires_on=_in(14))
    assert offer.reference.startswith("OFF-")
    assert offer.status == OfferStatus.ISSUED
    assert offer.terms["application"] == application.reference
    assert offer.terms["facilities"][0]["product"] == "working_capital"
    assert offer.terms["facilities"][0]["amount"] == "5000000.00"
    assert offer.terms["conditions"] == []
    assert _status(application) == Status.OFFER_ISSUED
    # Later changes to the application do not change what was offered.
    application.facilities.update(amount=1)
    offer.refresh_from_db()
    assert offer.terms["facilities"][0]["amount"] == "5000000.00"


@pytest.mark.parametrize(
    "status", [Status.DRAFT, Status.PENDING_DECISION, Status.DECLINED, Status.OFFER_ISSUED]
)
def test_only_an_approved_application_gets_an_offer(apps: AppFactory, rm_a: User, status: str) -> None:
    application = apps.at(status)
    before = Offer.objects.count()
    with pytest.raises(errors.Conflict):
        services.issue_offer(actor=rm_a, application_id=application.pk, expires_on=_in(14))
    assert Offer.objects.count() == before
    assert _status(application) == status


@pytest.mark.parametrize("days", [0, -1, 400])
def test_the_expiry_date_must_be_ahead(apps: AppFactory, rm_a: User, days: int) -> None:
    application = apps.at(Status.APPROVED)
    with pytest.raises(errors.ValidationFailed) as refused:
        services.issue_offer(actor=rm_a, application_id=application.pk, expires_on=_in(days))
    assert "expires_on" in refused.value.field_errors


def test_roles_and_scope(apps: AppFactory, approver: User, rm_b: User) -> None:
    application = apps.at(Status.APPROVED)
    with pytest.raises(errors.PermissionDenied):
        services.issue_offer(actor=approver, application_id=application.pk, expires_on=_in(14))
    with pytest.raises(errors.NotFound):
        services.issue_offer(actor=rm_b, application_id=application.pk, expires_on=_in(14))
    assert _status(application) == Status.APPROVED


def test_accept_on_the_last_day_but_not_after(apps: AppFactory, rm_a: User) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    with pytest.raises(errors.Conflict) as refused:
        services.accept_offer(actor=rm_a, offer_id=offer.pk, today=offer.expires_on + timedelta(days=1))
    assert refused.value.code == "offer_expired"
    assert _status(application) == Status.OFFER_ISSUED
    accepted = services.accept_offer(actor=rm_a, offer_id=offer.pk, today=offer.expires_on)
    assert accepted.status == OfferStatus.ACCEPTED
    assert accepted.accepted_at is not None
    assert _status(application) == Status.OFFER_ACCEPTED
    with pytest.raises(errors.Conflict) as again:
        services.accept_offer(actor=rm_a, offer_id=offer.pk)
    assert again.value.code == "offer_not_live"


def test_withdraw_ends_the_application(apps: AppFactory, rm_a: User) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = services.withdraw_offer(
        actor=rm_a, offer_id=Offer.objects.get(application=application).pk, note="Terms changed"
    )
    assert offer.status == OfferStatus.WITHDRAWN
    assert _status(application) == Status.WITHDRAWN


def test_the_daily_job_expires_stale_offers_only(apps: AppFactory, rm_a: User) -> None:
    stale = apps.at(Status.OFFER_ISSUED)
    fresh = apps.at(Status.APPROVED)
    services.issue_offer(actor=rm_a, application_id=fresh.pk, expires_on=_in(60))
    stale_offer = Offer.objects.get(application=stale)
    assert services.expire_stale(actor=rm_a, today=stale_offer.expires_on) == []
    expired = services.expire_stale(actor=rm_a, today=stale_offer.expires_on + timedelta(days=1))
    assert expired == [stale_offer.reference]
    assert Offer.objects.get(pk=stale_offer.pk).status == OfferStatus.EXPIRED
    assert _status(stale) == Status.EXPIRED
    assert _status(fresh) == Status.OFFER_ISSUED
    assert services.expire_stale(actor=rm_a, today=stale_offer.expires_on + timedelta(days=2)) == []


def test_expiring_one_offer_by_hand(apps: AppFactory, rm_a2: User, analyst: User) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    with pytest.raises(errors.Conflict) as early:
        services.expire_offer(actor=analyst, offer_id=offer.pk)
    assert early.value.code == "offer_not_due"
    later = offer.expires_on + timedelta(days=1)
    with pytest.raises(errors.PermissionDenied):
        services.expire_offer(actor=rm_a2, offer_id=offer.pk, today=later)
    assert services.expire_offer(actor=analyst, offer_id=offer.pk, today=later).status == OfferStatus.EXPIRED
    assert _status(application) == Status.EXPIRED


# --- API ------------------------------------------------------------------------------------------
def test_offer_api(api_client: Client, rm_a: User, rm_b: User, apps: AppFactory) -> None:
    application = apps.at(Status.APPROVED)
    client = api_client(rm_a)
    created = client.post(
        "/api/v1/offers/",
        {"application": application.pk, "expires_on": _in(14).isoformat()},
        format="json",
    )
    assert created.status_code == 201, created.json()
    offer = created.json()
    assert offer["application_reference"] == application.reference
    assert created["ETag"] == f'"{offer["id"]}-1"'
    assert client.get("/api/v1/offers/", {"application": application.pk}).json()["count"] == 1
    assert client.get(f"/api/v1/offers/{offer['id']}/").json()["status"] == "issued"
    other = api_client(rm_b)
    assert other.get("/api/v1/offers/").json()["count"] == 0
    assert other.get(f"/api/v1/offers/{offer['id']}/").status_code == 404
    assert other.post(f"/api/v1/offers/{offer['id']}/accept/").status_code == 404
    stale = client.post(f"/api/v1/offers/{offer['id']}/accept/", HTTP_IF_MATCH=f'"{offer["id"]}-9"')
    assert stale.status_code == 412
    accepted = client.post(f"/api/v1/offers/{offer['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    again = client.post(f"/api/v1/offers/{offer['id']}/accept/")
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"


def test_issuing_twice_is_409(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    response = api_client(rm_a).post(
        "/api/v1/offers/",
        {"application": application.pk, "expires_on": _in(14).isoformat()},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
