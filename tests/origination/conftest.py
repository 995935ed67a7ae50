"""Origination fixtures anyone may reuse: staff of every role, a visible borrower, valid facility terms,
and applications brought to any status through the services (decisions, which another service owns,
are stood in for by `workflow.move`)."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination import services, workflow
from lendcrm.origination.models import Application, ChecklistStatus, Status
from lendcrm.parties.models import Coverage, Party, PartyKind

# The statuses in the order the happy path reaches them.
HAPPY_PATH = (
    Status.DRAFT,
    Status.SUBMITTED,
    Status.IN_REVIEW,
    Status.CREDIT_ANALYSIS,
    Status.PENDING_DECISION,
    Status.APPROVED,
    Status.OFFER_ISSUED,
    Status.OFFER_ACCEPTED,
    Status.CONDITIONS_MET,
    Status.READY_TO_DISBURSE,
)


def facility(**overrides: Any) -> dict[str, Any]:
    """Valid terms of one working-capital facility (CNY 5,000,000, 36 months, fixed 4.35 %)."""
    terms: dict[str, Any] = {
        "product": "working_capital",
        "amount": Decimal("5000000.00"),
        "currency": "CNY",
        "tenor_months": 36,
        "repayment_profile": "annuity",
        "rate_type": "fixed",
        "fixed_rate_pct": Decimal("4.35"),
    }
    terms.update(overrides)
    return terms


@pytest.fixture
def rm_a2(make_user: Callable[..., User]) -> User:
    """A second relationship manager at branch A (a customer writer in scope who is not the owner)."""
    return make_user("rm_a2", Role.RELATIONSHIP_MANAGER)


@pytest.fixture
def analyst2(make_user: Callable[..., User]) -> User:
    return make_user("analyst2", Role.CREDIT_ANALYST)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    """Sees the whole book, decides; may not write customer data or move applications."""
    return make_user("approver", Role.CREDIT_APPROVER)


@pytest.fixture
def compliance(make_user: Callable[..., User]) -> User:
    return make_user("compliance", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def service_agent(make_user: Callable[..., User]) -> User:
    return make_user("agent", Role.SERVICE_AGENT)


@pytest.fixture
def borrower(branch_a: Branch, rm_a: User) -> Party:
    """A corporate booked at branch A, covered by rm_a; invisible to rm_b."""
    party = Party.objects.create(
        kind=PartyKind.CORPORATE, legal_name="Pudong Precision Castings", branch=branch_a
    )
    Coverage.objects.create(party=party, user=rm_a, role="lead")
    return party


@pytest.fixture
def guarantor(branch_a: Branch) -> Party:
    return Party.objects.create(kind=PartyKind.CORPORATE, legal_name="Pudong Holdings", branch=branch_a)


@pytest.fixture
def hidden_party(branch_b: Branch) -> Party:
    """A party at branch B that rm_a cannot see."""
    return Party.objects.create(kind=PartyKind.CORPORATE, legal_name="Chaoyang Steel", branch=branch_b)


def stand_in_decision(application: Application, outcome: str, actor: User) -> Application:
    """What the decisions service does to the status, for tests of what follows a decision."""
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        workflow.move(locked, outcome, actor=actor)
    return locked


class AppFactory:
    """Brings a new application of `borrower` to any status of the happy path, through the services."""

    def __init__(self, rm: User, analyst: User, approver: User, borrower: Party) -> None:
        self.rm, self.analyst, self.approver, self.borrower = rm, analyst, approver, borrower

    def draft(self, **kwargs: Any) -> Application:
        kwargs.setdefault("facilities", [facility()])
        return services.create_application(actor=self.rm, borrower_id=self.borrower.pk, **kwargs)

    def write_memo(self, application: Application, *, grade: int = 4) -> None:
        services.save_memo(
            actor=self.analyst,
            application_id=application.pk,
            changes={"risk_grade": grade, "recommendation": "Approve.", "business": "Castings."},
        )
        services.complete_memo(actor=self.analyst, application_id=application.pk)

    def verify_checklist(self, application: Application) -> None:
        for item in application.checklist.all():
            services.update_checklist_item(
                actor=self.analyst,
                application_id=application.pk,
                item_id=item.pk,
                status=ChecklistStatus.VERIFIED,
            )

    def at(self, status: str, **kwargs: Any) -> Application:
        """A new application in `status` (any status of HAPPY_PATH, or declined/withdrawn/expired)."""
        application = self.draft(**kwargs)
        pk = application.pk
        if status == Status.DRAFT:
            return application
        if status == Status.WITHDRAWN:
            return services.transition(actor=self.rm, application_id=pk, to_status=Status.WITHDRAWN)
        application = services.transition(actor=self.rm, application_id=pk, to_status=Status.SUBMITTED)
        for step in (Status.IN_REVIEW, Status.CREDIT_ANALYSIS):
            if application.status == status:
                return application
            application = services.transition(actor=self.analyst, application_id=pk, to_status=step)
        if status == Status.CREDIT_ANALYSIS:
            return application
        self.write_memo(application)
        services.transition(actor=self.analyst, application_id=pk, to_status=Status.PENDING_DECISION)
        if status == Status.PENDING_DECISION:
            return Application.objects.get(pk=pk)
        outcome = Status.DECLINED if status == Status.DECLINED else Status.APPROVED
        stand_in_decision(Application.objects.get(pk=pk), outcome, self.approver)
        if status in (Status.APPROVED, Status.DECLINED):
            return Application.objects.get(pk=pk)
        offer = services.issue_offer(
            actor=self.rm, application_id=pk, expires_on=timezone.localdate() + timedelta(days=30)
        )
        if status == Status.EXPIRED:
            services.expire_stale(actor=self.rm, today=timezone.localdate() + timedelta(days=31))
            return Application.objects.get(pk=pk)
        if status == Status.OFFER_ISSUED:
            return Application.objects.get(pk=pk)
        services.accept_offer(actor=self.rm, offer_id=offer.pk)
        if status == Status.OFFER_ACCEPTED:
            return Application.objects.get(pk=pk)
        services.transition(actor=self.rm, application_id=pk, to_status=Status.CONDITIONS_MET)
        if status == Status.CONDITIONS_MET:
            return Application.objects.get(pk=pk)
        self.verify_checklist(application)
        return services.transition(actor=self.rm, application_id=pk, to_status=Status.READY_TO_DISBURSE)


@pytest.fixture
def apps(rm_a: User, analyst: User, approver: User, borrower: Party) -> AppFactory:
    """`apps.at(status)`: a new application of `borrower` owned by rm_a, analysed by `analyst`."""
    return AppFactory(rm_a, analyst, approver, borrower)


@pytest.fixture
def draft(apps: AppFactory) -> Application:
    return apps.draft()
