"""Turnaround: time in each status against its target (per product, else the default), and the overdue
lists for the RM's home page and the queues."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.origination import selectors
from lendcrm.origination.models import Application, Status, StatusChange
from tests.origination.conftest import AppFactory, facility

pytestmark = pytest.mark.django_db


def _age(application: Application, hours: float) -> datetime:
    """Pretend the application entered its status `hours` ago (its history moves back with it)."""
    entered = timezone.now() - timedelta(hours=hours)
    last = StatusChange.objects.filter(application=application).order_by("changed_at", "id").last()
    assert last is not None
    StatusChange.objects.filter(pk=last.pk).update(changed_at=entered)
    Application.objects.filter(pk=application.pk).update(status_entered_at=entered)
    return entered


def test_history_hours_and_targets(apps: AppFactory, rm_a: User) -> None:
    application = apps.at(Status.SUBMITTED)
    now = timezone.now()
    changes = list(StatusChange.objects.filter(application=application).order_by("changed_at", "id"))
    StatusChange.objects.filter(pk=changes[0].pk).update(changed_at=now - timedelta(hours=30))
    StatusChange.objects.filter(pk=changes[1].pk).update(changed_at=now - timedelta(hours=10))
    Application.objects.filter(pk=application.pk).update(status_entered_at=now - timedelta(hours=10))
    found = selectors.application_turnaround(
        viewer=rm_a,
        application=selectors.get_application(viewer=rm_a, application_id=application.pk),
        now=now,
    )
    draft, submitted = found.history
    assert (draft.status, draft.hours, draft.target_hours, draft.overdue) == (
        Status.DRAFT,
        Decimal("20.0"),
        240,
        False,
    )
    assert (submitted.status, submitted.hours, submitted.target_hours) == (
        Status.SUBMITTED,
        Decimal("10.0"),
        8,
    )
    assert submitted.left_at is None
    assert submitted.overdue
    assert found.overdue
    assert found.current_target_hours == 8
    assert found.hours_by_status == {Status.DRAFT: Decimal("20.0"), Status.SUBMITTED: Decimal("10.0")}


def test_the_main_products_target_applies(apps: AppFactory, rm_a: User) -> None:
    """In review: 24 hours by default, 48 for project finance (the first facility's product)."""
    project = apps.at(
        Status.IN_REVIEW,
        facilities=[facility(product="project_finance", amount=Decimal("90000000"), tenor_months=180)],
    )
    ordinary = apps.at(Status.IN_REVIEW)
    _age(project, 30)
    _age(ordinary, 30)
    overdue = list(selectors.overdue_applications(viewer=rm_a))
    assert overdue == [ordinary]
    _age(project, 50)
    assert {a.pk for a in selectors.overdue_applications(viewer=rm_a)} == {project.pk, ordinary.pk}
    assert selectors.application_list(viewer=rm_a, overdue=True).count() == 2


def test_closed_applications_are_never_overdue(apps: AppFactory, rm_a: User) -> None:
    declined = apps.at(Status.DECLINED)
    _age(declined, 10_000)
    assert not selectors.overdue_applications(viewer=rm_a).exists()


def test_overdue_for_owner_is_the_rms_own(apps: AppFactory, rm_a: User, rm_a2: User, rm_b: User) -> None:
    application = apps.at(Status.SUBMITTED)
    _age(application, 9)
    assert list(selectors.overdue_for_owner(viewer=rm_a)) == [application]
    assert list(selectors.overdue_for_owner(viewer=rm_a2)) == []
    assert list(selectors.overdue_applications(viewer=rm_a2)) == [application]
    assert list(selectors.overdue_applications(viewer=rm_b)) == []


def test_an_application_without_facilities_uses_the_defaults(apps: AppFactory, rm_a: User) -> None:
    application = apps.draft(facilities=[])
    _age(application, 241)
    assert list(selectors.overdue_for_owner(viewer=rm_a)) == [application]
