"""The demo loan book (`lendcrm demo`): made through the services once, with every case the demo shows."""

from typing import Any

import pytest
from django.utils import timezone

from lendcrm import seeding
from lendcrm.core.models import User
from lendcrm.monitoring.models import CovenantTest, Project, Review, Signal, WatchlistEntry
from lendcrm.origination.models import Application
from lendcrm.seeding import credit, postloan
from lendcrm.servicing.models import Facility, Restructuring

pytestmark = pytest.mark.django_db


def test_the_demo_book_has_each_case_and_is_made_once(settings: Any) -> None:
    today = timezone.localdate()
    seeding.seed_bank(parties=300, seed=2026, as_of=today, interactions_per_party=0)
    seeding.create_demo_logins()
    credit.grant_demo_authority(today)
    rm = User.objects.get(username="rm")
    staff = {u.username: u for u in User.objects.filter(username__in=("analyst", "approver"))}
    assert credit.seed_demo_pipeline(rm=rm, analyst=staff["analyst"], approver=staff["approver"])
    lines: list[str] = []
    assert postloan.seed_demo_postloan(rm=rm, say=lines.append)

    facilities = {f.kind: f for f in Facility.objects.order_by("id")}
    assert Facility.objects.count() == 5
    assert set(facilities) == {"term", "revolving", "project_finance"}
    assert Facility.objects.filter(days_past_due__gt=90, category="substandard").count() == 1
    assert Facility.objects.filter(restructured_on=today, category="special_mention").count() == 1
    assert Restructuring.objects.filter(status="approved").count() == 1
    project = Project.objects.get()
    assert project.cash_flows.count() == 20
    assert facilities["project_finance"].construction_end > today
    assert CovenantTest.objects.filter(status="breach", covenant__metric="dscr").exists()
    assert Signal.objects.filter(rule="covenant_breach", status="open").exists()
    assert Signal.objects.filter(rule="days_past_due", status="open").exists()
    assert WatchlistEntry.objects.filter(status="active").count() >= 2
    assert Review.objects.filter(status="scheduled").count() >= 5
    monitors = {
        f.kind: f.monitor.username if f.monitor else None for f in Facility.objects.select_related("monitor")
    }
    assert monitors["revolving"] is None  # reviewed by the RM
    assert set(monitors.values()) == {"monitor", None}
    assert Review.objects.filter(assigned_to=rm, status="scheduled").exists()
    assert Application.objects.filter(status="ready_to_disburse", borrower__coverage__user=rm).count() == 1
    assert any(line.startswith("daily job") for line in lines)
    assert not postloan.seed_demo_postloan(rm=rm)  # once only
