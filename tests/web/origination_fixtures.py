"""Fixtures and helpers the origination page tests share (applications, the memo and offers, decisions):
a borrower covered by rm_a, a guarantor, an approver with regional-head authority and an application
factory. A test module imports the fixtures it uses by name."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application
from lendcrm.parties.models import Coverage, Party, PartyKind
from tests.origination.authority_fixtures import delegate
from tests.origination.conftest import AppFactory


def page_queries(client: Any, path: str) -> int:
    """The queries one page load makes (the page must answer 200)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


def backdate(application: Application, hours: int) -> None:
    """Put the application `hours` into its current status (turnaround targets are in hours)."""
    since = timezone.now() - timedelta(hours=hours)
    Application.objects.filter(pk=application.pk).update(status_entered_at=since)
    application.status_changes.filter(to_status=application.status).update(changed_at=since)


@pytest.fixture
def borrower(branch_a: Branch, rm_a: User) -> Party:
    """A corporate booked at branch A and covered by rm_a; invisible to rm_b."""
    party = Party.objects.create(
        kind=PartyKind.CORPORATE, legal_name="Pudong Precision Castings", branch=branch_a
    )
    Coverage.objects.create(party=party, user=rm_a, role="lead")
    return party


@pytest.fixture
def guarantor(branch_a: Branch) -> Party:
    return Party.objects.create(kind=PartyKind.CORPORATE, legal_name="Pudong Holdings", branch=branch_a)


@pytest.fixture
def authorised(make_user: Callable[..., User]) -> User:
    """A credit approver with regional-head authority (CNY 50 million, grade 7)."""
    approver = make_user("approver", Role.CREDIT_APPROVER)
    delegate(approver, "regional_head")
    return approver


@pytest.fixture
def apps(rm_a: User, analyst: User, authorised: User, borrower: Party) -> AppFactory:
    """`apps.at(status)`: a new application of `borrower` owned by rm_a, analysed by `analyst`."""
    return AppFactory(rm_a, analyst, authorised, borrower)
