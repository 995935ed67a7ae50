"""Every API route that takes an id, called by an RM of another branch: 404, no data, nothing changed.

The routes are read from the URL resolver, so a new endpoint is covered the day it is added."""

import hashlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.interactions import services as interaction_services
from lendcrm.monitoring.models import Review, Signal
from lendcrm.monitoring.services import covenants, projects, watchlist
from lendcrm.origination import services as origination_services
from lendcrm.origination import workflow
from lendcrm.origination.models import Application, AuthorityLevel, AuthorityMatrix, Condition, Decision
from lendcrm.parties import services as party_services
from lendcrm.pipeline import services as pipeline_services
from lendcrm.servicing.services import classification, repayments, restructuring
from tests.origination.conftest import facility
from tests.pipeline.conftest import opportunity_data, proposal_data
from tests.servicing import factories as servicing_factories

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# Organisation routes are not customer data: branches are public to staff, users are admin-only (403).
NOT_CUSTOMER_DATA = ("branches/", "users/")
SECRET_NAME = "Pudong Secret Holdings"


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def id_routes() -> list[tuple[str, Any]]:
    found = [
        (route, view)
        for route, view in _routes(get_resolver().url_patterns)
        if route.startswith("api/v1/") and "<int:" in route
    ]
    return [(r, v) for r, v in found if not r.removeprefix("api/v1/").startswith(NOT_CUSTOMER_DATA)]


@pytest.fixture
def branch_a_objects(rm_a: User) -> dict[str, int]:
    party = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name=SECRET_NAME,
        local_name="浦东机密控股",
        branch=rm_a.branch,
        identifiers=[("lei", "5493001KJTIIGC8Y1R12")],
    )
    other = party_services.create_party(
        actor=rm_a, kind="sme", legal_name="Pudong Secret Trading", branch=rm_a.branch
    )
    contact = party_services.create_contact(actor=rm_a, party=party, role="cfo", full_name="Secret Person")
    relationship = party_services.create_relationship(
        actor=rm_a, from_party=party, to_party=other, kind="parent_of", ownership_pct=60
    )
    interaction, _ = interaction_services.log_interaction(
        actor=rm_a,
        party=party,
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now() - timedelta(hours=1),
        subject="Secret call",
    )
    task = interaction_services.create_task(
        actor=rm_a, party=party, title="Secret follow-up", due_date=date.today() + timedelta(days=3)
    )
    lead = pipeline_services.create_lead(actor=rm_a, data={"name": "Secret lead"})
    opportunity = pipeline_services.create_opportunity(
        actor=rm_a, party_id=party.pk, data=opportunity_data(title="Secret deal")
    )
    proposal = pipeline_services.create_proposal(
        actor=rm_a, opportunity_id=opportunity.pk, data=proposal_data(summary="Secret terms")
    )
    return {
        **_origination_objects(rm_a, party.pk),
        **_postloan_objects(rm_a, party),
        "lead": lead.pk,
        "opportunity": opportunity.pk,
        "proposal": proposal.pk,
        "party": party.pk,
        "identifier": party.identifiers.get().pk,
        "contact": contact.pk,
        "relationship": relationship.pk,
        "interaction": interaction.pk,
        "task": task.pk,
    }


def _origination_objects(rm_a: User, party_id: int) -> dict[str, int]:
    """An application with its checklist, a statement, and an approved application with an offer and a
    condition (the decision stood in for by the state machine and a row)."""
    application = origination_services.create_application(
        actor=rm_a, borrower_id=party_id, purpose="Secret purpose", facilities=[facility()]
    )
    statement = origination_services.save_statement(
        actor=rm_a,
        party_id=party_id,
        period_end=date(2024, 12, 31),
        period_months=12,
        kind="audited",
        currency="CNY",
        lines={"revenue": Decimal("1000.00")},
    )
    approved = origination_services.create_application(
        actor=rm_a, borrower_id=party_id, facilities=[facility()]
    )
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=approved.pk)
        for status in ("submitted", "in_review", "credit_analysis", "pending_decision", "approved"):
            workflow.move(locked, status, actor=rm_a)
    decision = Decision.objects.create(
        application=approved,
        round=1,
        outcome="approved",
        decided_by=rm_a,
        decided_at=timezone.now(),
        level=AuthorityLevel.objects.get(slug="rm"),
        matrix=AuthorityMatrix.objects.get(status="active"),
        memo_version=1,
        risk_grade=4,
        group_exposure=Decimal("5000000"),
        exposure_currency="CNY",
    )
    condition = Condition.objects.create(application=approved, decision=decision, text="Secret condition")
    offer = origination_services.issue_offer(
        actor=rm_a, application_id=approved.pk, expires_on=date.today() + timedelta(days=30)
    )
    item = application.checklist.first()
    assert item is not None
    return {
        "application": application.pk,
        "checklist_item": item.pk,
        "statement": statement.pk,
        "offer": offer.pk,
        "condition": condition.pk,
    }


def _postloan_objects(rm_a: User, party: Any) -> dict[str, int]:
    """A booked, drawn facility of the party with a repayment, a classification proposal, a restructuring,
    a covenant and its test, a project, a review, a signal and a watchlist entry."""
    today = timezone.localdate()
    facility_row = servicing_factories.booked_facility(borrower=party, start_date=today - timedelta(days=60))
    monitor = servicing_factories.staff("matrix_monitor", Role.PORTFOLIO_MONITOR)
    repayment = repayments.post_repayment(
        actor=servicing_factories.ops(),
        facility_id=facility_row.pk,
        amount=Decimal("100.00"),
        value_date=today,
        reference="SECRET-1",
    )
    request = classification.request_classification(
        actor=monitor,
        facility_id=facility_row.pk,
        category="special_mention",
        stage=2,
        reason="Secret doubts",
    )
    restructuring_row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility_row.pk,
        kind="term_extension",
        terms={"maturity_date": facility_row.maturity_date + timedelta(days=365)},
        reason="Secret extension",
        effective_on=today,
    )
    covenant = covenants.add_covenant(
        actor=monitor,
        facility_id=facility_row.pk,
        kind="undertaking",
        name="Secret pledge",
        first_test_date=today + timedelta(days=30),
    )
    project = projects.create_project(
        actor=monitor, party_id=party.pk, facility_id=facility_row.pk, name="Secret project"
    )
    review = Review.objects.create(party=party, kind="site_visit", due_date=today, assigned_to=rm_a)
    signal = Signal.objects.create(
        party=party,
        rule="kyc_overdue",
        subject="kyc",
        severity=3,
        detail="Secret",
        raised_on=today,
        last_seen_on=today,
    )
    entry = watchlist.add_to_watchlist(
        actor=monitor, party_id=party.pk, reason="Secret worries", owner_id=monitor.pk, review_date=today
    )
    return {
        "facility": facility_row.pk,
        "repayment": repayment.pk,
        "classification_request": request.pk,
        "restructuring": restructuring_row.pk,
        "covenant": covenant.pk,
        "covenant_test": covenant.tests.get().pk,
        "project": project.pk,
        "review": review.pk,
        "signal": signal.pk,
        "watch_entry": entry.pk,
    }


def _path_for(route: str, objects: dict[str, int]) -> str:
    resource = route.removeprefix("api/v1/").split("/")[0]
    main = {
        "parties": "party",
        "contacts": "contact",
        "relationships": "relationship",
        "interactions": "interaction",
        "tasks": "task",
        "leads": "lead",
        "opportunities": "opportunity",
        "proposals": "proposal",
        "applications": "application",
        "financial-statements": "statement",
        "offers": "offer",
        "facilities": "facility",
        "repayments": "repayment",
        "classifications": "classification_request",  # its only id routes are the requests
        "restructurings": "restructuring",
        "covenants": "covenant",
        "covenant-tests": "covenant_test",
        "projects": "project",
        "reviews": "review",
        "signals": "signal",
        "watchlist": "watch_entry",
    }[resource]
    path = route.replace("<int:pk>", str(objects[main]))
    path = path.replace("<int:identifier_id>", str(objects["identifier"]))
    path = path.replace("<int:item_id>", str(objects["checklist_item"]))
    path = path.replace("<int:condition_id>", str(objects["condition"]))
    assert "<" not in path, f"a new id parameter in {route}: teach this test its object"
    return "/" + path


def _database_digest() -> str:
    """A digest of every row of every lendcrm table: any write shows."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if not model._meta.label.startswith(
            ("core.", "parties.", "interactions.", "pipeline.", "origination.", "servicing.", "monitoring.")
        ):
            continue
        if model._meta.label in {"core.ApiToken"}:  # last_used_at moves on every authenticated call
            continue
        rows = list(model.objects.order_by("pk").values_list())
        digest.update(json.dumps([model._meta.label, rows], default=str).encode())
    return digest.hexdigest()


def test_the_matrix_covers_every_customer_route() -> None:
    covered = {route for route, _ in id_routes()}
    assert "api/v1/parties/<int:pk>/360/" in covered
    assert "api/v1/parties/<int:pk>/timeline/" in covered
    assert "api/v1/tasks/<int:pk>/complete/" in covered
    assert len(covered) >= 14


@pytest.mark.parametrize(("route", "view"), id_routes(), ids=[r for r, _ in id_routes()])
def test_other_branch_gets_404_and_changes_nothing(
    route: str, view: Any, branch_a_objects: dict[str, int], rm_b: User, api_client: Any
) -> None:
    path = _path_for(route, branch_a_objects)
    client = api_client(rm_b)
    allowed = [m for m in METHODS if hasattr(view.view_class, m)]
    assert allowed
    before = _database_digest()
    for method in allowed:
        response = getattr(client, method)(
            path, data={}, format="json", HTTP_IF_MATCH="*", HTTP_IDEMPOTENCY_KEY=f"matrix-{method}"
        )
        assert response.status_code == 404, (method, path, response.status_code)
        body = response.content.decode()
        assert "Secret" not in body
    assert _database_digest() == before


@pytest.mark.parametrize(("route", "view"), id_routes(), ids=[r for r, _ in id_routes()])
def test_missing_ids_look_the_same_as_hidden_ones(route: str, view: Any, rm_b: User, api_client: Any) -> None:
    missing = dict.fromkeys(
        (
            "party",
            "identifier",
            "contact",
            "relationship",
            "interaction",
            "task",
            "lead",
            "opportunity",
            "proposal",
            "application",
            "checklist_item",
            "statement",
            "offer",
            "condition",
            "facility",
            "repayment",
            "classification_request",
            "restructuring",
            "covenant",
            "covenant_test",
            "project",
            "review",
            "signal",
            "watch_entry",
        ),
        987654,
    )
    response = api_client(rm_b).get(_path_for(route, missing))
    assert response.status_code in (404, 405)
