"""`lendcrm expire_offers`: the daily job expires every live offer past its date, and its application, as
the system (no one named in the history or the audit trail, which still verifies)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from lendcrm import cli
from lendcrm.core.audit import verify_chain
from lendcrm.core.models import AuditEvent
from lendcrm.origination import services
from lendcrm.origination.models import Offer, OfferStatus, Status, StatusChange
from tests.origination.conftest import AppFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("expire_offers", *args, stdout=out)
    return out.getvalue()


def test_the_job_expires_offers_past_their_date_as_the_system(apps: AppFactory) -> None:
    stale = Offer.objects.get(application=apps.at(Status.OFFER_ISSUED))
    live = Offer.objects.get(application=apps.at(Status.OFFER_ISSUED))
    Offer.objects.filter(pk=live.pk).update(expires_on=stale.expires_on + timedelta(days=5))
    last_day = stale.expires_on
    assert _run("--today", last_day.isoformat()) == f"No offer was past its date on {last_day.isoformat()}.\n"
    assert Offer.objects.get(pk=stale.pk).status == OfferStatus.ISSUED  # valid through its last day
    output = _run("--today", (last_day + timedelta(days=1)).isoformat())
    assert stale.reference in output
    assert live.reference not in output
    stale.refresh_from_db()
    assert stale.status == OfferStatus.EXPIRED
    assert stale.application.status == Status.EXPIRED
    change = StatusChange.objects.filter(application=stale.application).latest("changed_at", "id")
    assert (change.to_status, change.changed_by_id, change.note) == (Status.EXPIRED, None, stale.reference)
    events = AuditEvent.objects.filter(action__in=("offer.expired", "application.transition"), actor=None)
    assert events.count() == 2
    assert verify_chain().ok
    assert Offer.objects.get(pk=live.pk).status == OfferStatus.ISSUED
    assert "No offer was past its date" in _run("--today", (last_day + timedelta(days=2)).isoformat())


def test_a_bad_day_is_refused_and_changes_nothing(apps: AppFactory) -> None:
    offer = Offer.objects.get(application=apps.at(Status.OFFER_ISSUED))
    for bad in ("yesterday", "2025-02-30"):
        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            _run("--today", bad)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ISSUED


def test_the_lendcrm_command_dispatches_to_it(
    apps: AppFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = Offer.objects.get(application=apps.at(Status.OFFER_ISSUED))
    # A command run from the command line closes the connections at the end; the test's must stay open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    cli.main(["expire_offers", "--today", (offer.expires_on + timedelta(days=1)).isoformat()])
    assert offer.reference in capsys.readouterr().out
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED


def test_a_user_running_the_service_is_still_named(apps: AppFactory) -> None:
    offer = Offer.objects.get(application=apps.at(Status.OFFER_ISSUED))
    assert services.expire_stale(actor=apps.analyst, today=offer.expires_on + timedelta(days=1)) == [
        offer.reference
    ]
    change = StatusChange.objects.filter(application=offer.application).latest("changed_at", "id")
    assert change.changed_by_id == apps.analyst.pk
    assert AuditEvent.objects.get(action="offer.expired").actor_id == apps.analyst.pk
