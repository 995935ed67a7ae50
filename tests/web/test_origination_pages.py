"""The origination pages: applications (list, create, the application page with its checklist and moves),
the credit memo, decisions and committee votes, conditions, offers, the approver's queue and My day."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils import timezone

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    Application,
    ChecklistItem,
    ChecklistStatus,
    CommitteeVote,
    Condition,
    CreditMemo,
    Decision,
    FinancialStatement,
    Offer,
    Status,
)
from lendcrm.parties.models import Coverage, Party, PartyKind, Relationship, RelationshipKind
from tests.contract.test_access_matrix import _routes
from tests.origination.authority_fixtures import delegate, make_application, make_party
from tests.origination.conftest import AppFactory, facility
from tests.web.conftest import html
from tests.web.test_accessibility import _check
from tests.web.test_i18n import PACKAGE, _untranslated

pytestmark = pytest.mark.django_db


def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


def _backdate(application: Application, hours: int) -> None:
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


# --- the list ---------------------------------------------------------------------------------------
def test_list_shows_status_and_time_against_target_in_scope(
    apps: AppFactory,
    rm_a: User,
    rm_b: User,
    web: Any,
) -> None:
    draft = apps.at(Status.DRAFT)
    submitted = apps.at(Status.SUBMITTED)
    _backdate(submitted, 20)  # the target for submitted is 8 hours
    page = html(web(rm_a).get("/applications/"))
    assert draft.reference in page
    assert submitted.reference in page
    assert 'data-value="submitted"' in page
    assert "overdue" in page
    assert "/ 8.0 h" in page  # the target beside the time in status
    assert draft.reference not in html(web(rm_b).get("/applications/"))

    only_submitted = html(web(rm_a).get("/applications/?status=submitted"))
    assert submitted.reference in only_submitted
    assert draft.reference not in only_submitted
    overdue = html(web(rm_a).get("/applications/?overdue=on"))
    assert submitted.reference in overdue
    assert draft.reference not in overdue
    assert draft.reference in html(web(rm_a).get("/applications/?mine=on"))


def test_list_refuses_a_bad_filter(apps: AppFactory, rm_a: User, web: Any) -> None:
    draft = apps.at(Status.DRAFT)
    response = web(rm_a).get("/applications/?status=teleported")
    assert response.status_code == 400
    assert "Select a valid choice" in html(response)
    assert draft.reference not in html(response)


def test_list_query_count_does_not_grow(apps: AppFactory, rm_a: User, web: Any) -> None:
    apps.at(Status.DRAFT)
    small = _queries(web(rm_a), "/applications/")
    for _ in range(4):
        apps.at(Status.SUBMITTED)
    assert _queries(web(rm_a), "/applications/") == small


# --- a new application ------------------------------------------------------------------------------
def _new_application(borrower_id: int, **facility_values: Any) -> dict[str, Any]:
    values = {
        "product": "",
        "amount": "8000000",
        "currency": "CNY",
        "tenor_months": "48",
        "repayment_profile": "annuity",
        "grace_months": "0",
        "rate_type": "floating",
        "base_rate": "lpr_1y",
        "margin_pct": "0.85",
        "lgd_pct": "35",
        **facility_values,
    }
    data = {
        "borrower": str(borrower_id),
        "purpose": "New casting line",
        "facilities-TOTAL_FORMS": "1",
        "facilities-INITIAL_FORMS": "0",
        "facilities-MIN_NUM_FORMS": "1",
        "facilities-MAX_NUM_FORMS": "10",
    }
    data.update({f"facilities-0-{k}": v for k, v in values.items()})
    return data


def test_an_rm_creates_a_draft_with_facilities_and_other_parties(
    rm_a: User,
    web: Any,
    borrower: Party,
    guarantor: Party,
) -> None:
    client = web(rm_a)
    form = html(client.get("/applications/new/"))
    assert 'id="borrower-q"' in form
    assert "facilities-TOTAL_FORMS" in form
    data = _new_application(borrower.pk, product="term_loan")
    data.update({"party": str(guarantor.pk), f"role_{guarantor.pk}": "guarantor"})
    response = client.post("/applications/new/", data)
    assert response.status_code == 302
    application = Application.objects.get()
    assert response["Location"] == f"/applications/{application.pk}/"
    assert application.status == Status.DRAFT
    assert application.owner == rm_a
    assert {(p.party_id, p.role) for p in application.parties.all()} == {
        (borrower.pk, "borrower"),
        (guarantor.pk, "guarantor"),
    }
    facility_row = application.facilities.get()
    assert facility_row.amount == Decimal("8000000")
    assert facility_row.lgd == Decimal("0.35")
    assert application.checklist.exists()


def test_bad_input_on_the_new_application_is_400_and_creates_nothing(
    rm_a: User,
    rm_b: User,
    web: Any,
    borrower: Party,
) -> None:
    term_loan = "term_loan"
    no_base_rate = web(rm_a).post(
        "/applications/new/", _new_application(borrower.pk, product=term_loan, base_rate="")
    )
    assert no_base_rate.status_code == 400
    body = html(no_base_rate)
    assert "A floating rate needs a base rate." in body.split('id="facility-0"')[1]
    no_borrower = web(rm_a).post("/applications/new/", _new_application(0, product=term_loan))
    assert no_borrower.status_code == 400
    assert "Choose the borrower from the search results." in html(no_borrower)
    # A borrower the RM cannot see is refused in the same words (nothing says it exists).
    other_branch = web(rm_b).post("/applications/new/", _new_application(borrower.pk, product=term_loan))
    assert other_branch.status_code == 400
    assert "Choose the borrower from the search results." in html(other_branch)
    bad_role = _new_application(borrower.pk, product=term_loan)
    bad_role.update({"party": str(borrower.pk), f"role_{borrower.pk}": "boss"})
    assert web(rm_a).post("/applications/new/", bad_role).status_code == 400
    assert not Application.objects.exists()


def test_add_another_facility_keeps_what_was_typed(rm_a: User, web: Any, borrower: Party) -> None:
    data = _new_application(borrower.pk, product="term_loan")
    data["add_facility"] = "1"
    response = web(rm_a).post("/applications/new/", data)
    assert response.status_code == 200
    body = html(response)
    assert 'id="facility-1"' in body
    assert "New casting line" in body
    assert not Application.objects.exists()


def test_only_customer_writers_open_the_new_application_form(authorised: User, web: Any) -> None:
    assert web(authorised).get("/applications/new/").status_code == 403


def test_the_party_picker_posts_its_term_and_stays_in_scope(
    rm_a: User, rm_b: User, web: Any, party_a: Party
) -> None:
    url = "/applications/pick-party/"
    hits = html(web(rm_a).post(url, {"q_borrower": "Harbour", "field": "borrower"}))
    assert party_a.legal_name in hits
    assert 'type="radio"' in hits
    many = html(web(rm_a).post(url, {"q_party": "Harbour", "field": "party"}))
    assert 'type="checkbox"' in many
    assert f'name="role_{party_a.pk}"' in many
    kept = html(
        web(rm_a).post(
            url, {"q_party": "zzz", "field": "party", "party": party_a.pk, f"role_{party_a.pk}": "sponsor"}
        )
    )
    assert "checked" in kept
    assert 'value="sponsor" selected' in kept
    assert party_a.legal_name not in html(web(rm_b).post(url, {"q_borrower": "Harbour", "field": "borrower"}))
    assert web(rm_a).get(f"{url}?q_borrower=Harbour").status_code == 405


# --- the application page ---------------------------------------------------------------------------
def test_the_application_page_shows_everything_about_it(
    apps: AppFactory,
    rm_a: User,
    web: Any,
    guarantor: Party,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS, parties=[{"party": guarantor.pk, "role": "guarantor"}])
    body = html(web(rm_a).get(f"/applications/{application.pk}/"))
    assert application.reference in body
    assert "Pudong Precision Castings" in body
    assert 'data-value="credit_analysis"' in body
    assert "In status since" in body
    assert guarantor.legal_name in body
    assert "Guarantor" in body
    assert "CNY 5,000,000.00" in body  # the facility
    assert 'id="checklist"' in body
    assert "Business licence" in body
    assert 'id="history-table"' in body
    assert "Submitted" in body
    assert 'id="exposure"' in body
    assert f"/applications/{application.pk}/memo/" in body


def test_an_rm_of_another_branch_gets_404_on_every_origination_page(
    apps: AppFactory,
    rm_b: User,
    web: Any,
) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    routes = [
        route
        for route, _view in _routes(get_resolver().url_patterns)
        if route.startswith(("applications/<int:pk>/", "offers/<int:pk>/"))
    ]
    assert len(routes) >= 12
    version = application.version
    client = web(rm_b)
    for route in routes:
        pk = offer.pk if route.startswith("offers/") else application.pk
        path = "/" + route.replace("<int:pk>", str(pk))
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"version": version, "to_status": "withdrawn"})
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert "Pudong Precision" not in html(response)
    application.refresh_from_db()
    assert application.version == version
    assert application.status == Status.OFFER_ISSUED


def test_move_buttons_follow_the_workflow_and_the_role(
    apps: AppFactory,
    rm_a: User,
    analyst: User,
    web: Any,
) -> None:
    draft = apps.at(Status.DRAFT)
    body = html(web(rm_a).get(f"/applications/{draft.pk}/"))
    assert 'data-move="submitted"' in body
    assert 'data-move="withdrawn"' in body
    assert 'data-move="in_review"' not in body
    assert 'data-move="approved"' not in body
    submitted = apps.at(Status.SUBMITTED)
    assert 'data-move="in_review"' not in html(web(rm_a).get(f"/applications/{submitted.pk}/"))
    assert 'data-move="in_review"' in html(web(analyst).get(f"/applications/{submitted.pk}/"))


def test_a_move_button_moves_and_a_forbidden_move_is_409(
    apps: AppFactory,
    rm_a: User,
    web: Any,
) -> None:
    draft = apps.at(Status.DRAFT)
    client = web(rm_a)
    moved = client.post(
        f"/applications/{draft.pk}/move/", {"to_status": "submitted", "version": draft.version}
    )
    assert moved.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    refused = client.post(
        f"/applications/{draft.pk}/move/", {"to_status": "ready_to_disburse", "version": draft.version}
    )
    assert refused.status_code == 409
    assert "cannot go from" in html(refused)
    assert 'id="refusal"' in html(refused)
    stale = client.post(f"/applications/{draft.pk}/move/", {"to_status": "withdrawn", "version": 1})
    assert stale.status_code == 409
    assert "Someone changed this application" in html(stale)
    unknown = client.post(
        f"/applications/{draft.pk}/move/", {"to_status": "teleported", "version": draft.version}
    )
    assert unknown.status_code == 400
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED


def test_the_checklist_changes_inline(apps: AppFactory, rm_a: User, analyst: User, web: Any) -> None:
    application = apps.at(Status.IN_REVIEW)
    item = application.checklist.order_by("position").first()
    assert item is not None
    url = f"/applications/{application.pk}/checklist/"
    hx = {"HTTP_HX_REQUEST": "true"}
    verified = web(analyst).post(url, {"item": item.pk, "status": "verified"}, **hx)
    assert verified.status_code == 200
    assert f'id="check-{item.pk}"' in html(verified)
    assert 'data-value="verified"' in html(verified)
    no_reason = web(analyst).post(url, {"item": item.pk, "status": "waived", "waiver_reason": " "}, **hx)
    assert no_reason.status_code == 422
    assert "Say why the document is waived." in html(no_reason)
    by_maker = web(rm_a).post(url, {"item": item.pk, "status": "waived", "waiver_reason": "Old"}, **hx)
    assert by_maker.status_code == 422
    assert "Only a credit analyst may do this." in html(by_maker)
    item.refresh_from_db()
    assert item.status == ChecklistStatus.VERIFIED
    assert item.waiver_reason == ""
    plain = web(analyst).post(url, {"item": item.pk, "status": "waived", "waiver_reason": "Filed last year"})
    assert plain.status_code == 302
    item.refresh_from_db()
    assert item.status == ChecklistStatus.WAIVED
    other = ChecklistItem.objects.exclude(application=application).first()
    assert (
        web(analyst).post(url, {"item": other.pk if other else 999999, "status": "received"}).status_code
        == 404
    )


def test_detail_query_count_does_not_grow(
    apps: AppFactory,
    rm_a: User,
    web: Any,
    guarantor: Party,
    branch_a: Any,
) -> None:
    small = apps.at(Status.PENDING_DECISION)
    few = _queries(web(rm_a), f"/applications/{small.pk}/")
    more_parties = [{"party": make_party(branch_a).pk, "role": "guarantor"} for _ in range(4)]
    big = apps.at(
        Status.PENDING_DECISION,
        facilities=[facility(product="project_finance"), facility(), facility(amount=Decimal("900000"))],
        parties=more_parties,
    )
    for _ in range(3):  # more applications in the group: more exposure rows
        apps.at(Status.APPROVED)
    assert _queries(web(rm_a), f"/applications/{big.pk}/") == few


def test_group_exposure_names_only_the_members_in_scope(
    apps: AppFactory,
    rm_a: User,
    rm_b: User,
    analyst: User,
    borrower: Party,
    branch_b: Branch,
    web: Any,
) -> None:
    sister = make_party(branch_b, "Chaoyang Sister Foundry")
    Relationship.objects.create(from_party=sister, to_party=borrower, kind=RelationshipKind.MEMBER_OF_GROUP)
    make_application(
        borrower=sister,
        owner=rm_b,
        analyst=analyst,
        facilities=[("term_loan", "2000000", "CNY")],
        status=Status.APPROVED,
    )
    application = apps.at(Status.DRAFT)
    panel = html(web(rm_a).get(f"/applications/{application.pk}/")).split('id="exposure"')[1]
    panel = panel.split("</section>")[0]
    assert "a party outside your access" in panel
    assert "Chaoyang Sister Foundry" not in panel
    assert "CNY 2,000,000.00" in panel  # its exposure still counts
    assert "CNY 7,000,000.00" in panel  # existing and requested together


def test_after_acceptance_and_conditions_the_application_becomes_ready_to_disburse(
    apps: AppFactory, rm_a: User, web: Any
) -> None:
    application = apps.at(Status.OFFER_ACCEPTED)
    url = f"/applications/{application.pk}/move/"
    met = web(rm_a).post(url, {"to_status": "conditions_met", "version": application.version})
    assert met.status_code == 302
    application.refresh_from_db()
    page = html(web(rm_a).get(f"/applications/{application.pk}/"))
    assert 'data-move="ready_to_disburse"' in page
    early = web(rm_a).post(url, {"to_status": "ready_to_disburse", "version": application.version})
    assert early.status_code == 409
    assert "Every document must be verified or waived first." in html(early)
    apps.verify_checklist(application)
    application.refresh_from_db()
    ready = web(rm_a).post(url, {"to_status": "ready_to_disburse", "version": application.version})
    assert ready.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.READY_TO_DISBURSE
    assert 'id="moves"' not in html(web(rm_a).get(f"/applications/{application.pk}/"))


# --- the credit memo --------------------------------------------------------------------------------
def _statement(period_end: str, **lines: str) -> dict[str, str]:
    data = {"period_end": period_end, "period_months": "12", "kind": "audited", "currency": "CNY"}
    data.update({f"line_{code}": amount for code, amount in lines.items()})
    return data


def test_an_analyst_spreads_statements_grades_and_completes_the_memo(
    apps: AppFactory,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    client = web(analyst)
    url = f"/applications/{application.pk}/memo/"
    page = html(client.get(url))
    assert 'id="statement-form"' in page
    assert 'id="memo-form"' in page
    assert "Balance sheet" in page
    assert "Income statement" in page
    assert "Cash flow" in page
    assert "PD 0.42 %" in page  # grades are offered with their PD
    for year, revenue in (("2023-12-31", "80000000"), ("2024-12-31", "100000000")):
        saved = client.post(
            f"{url}statements/",
            _statement(
                year,
                revenue=revenue,
                ebitda="20000000",
                interest_expense="4000000",
                depreciation="5000000",
                short_term_debt="30000000",
                long_term_debt="50000000",
                equity="40000000",
                current_assets="60000000",
                current_liabilities="40000000",
            ),
        )
        assert saved.status_code == 302
    page = html(client.get(url))
    spread = page.split('id="statement-table"')[1].split("</thead>")[0]
    assert spread.index("2023") < spread.index("2024")  # periods side by side, oldest first
    assert "100,000,000.00" in page
    assert 'data-ratio="leverage"' in page
    assert "4.00\u00d7" in page  # 80m debt / 20m EBITDA
    assert "25.0 %" in page  # revenue growth 2024 on 2023
    grade = {"risk_grade": "4", "recommendation": "Approve.", "business": "Castings.", "version": "0"}
    assert client.post(url, grade).status_code == 302
    memo = CreditMemo.objects.get(application=application)
    assert memo.risk_grade is not None
    assert memo.risk_grade.grade == 4
    page = html(client.get(url))
    assert 'id="el-total"' in page
    assert "CNY 8,400.00" in page
    completed = client.post(f"{url}complete/", {"version": memo.version})
    assert completed.status_code == 302
    memo.refresh_from_db()
    assert memo.completed_at is not None
    assert 'id="revisions"' in html(client.get(url))


def test_a_stale_memo_edit_is_409_and_keeps_what_was_typed(
    apps: AppFactory,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    assert client.post(url, {"business": "First", "version": "0"}).status_code == 302
    assert client.post(url, {"business": "Second", "version": "1"}).status_code == 302
    stale = client.post(url, {"business": "Mine from an old tab", "version": "1"})
    assert stale.status_code == 409
    body = html(stale)
    assert "Someone else saved a change" in body
    assert "Mine from an old tab" in body
    assert CreditMemo.objects.get(application=application).business == "Second"


def test_memo_refusals_keep_their_status_and_change_nothing(
    apps: AppFactory,
    rm_a: User,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    read_only = html(web(rm_a).get(url))
    assert 'id="memo-form"' not in read_only
    assert 'id="statement-form"' not in read_only
    assert web(rm_a).post(url, {"business": "Mine", "version": "0"}).status_code == 403
    bad_line = web(analyst).post(f"{url}statements/", _statement("2024-12-31", revenue="lots"))
    assert bad_line.status_code == 400
    assert "Enter a number." in html(bad_line)
    empty = web(analyst).post(f"{url}statements/", _statement("2024-12-31"))
    assert empty.status_code == 400
    assert "Enter at least one line." in html(empty)
    incomplete = web(analyst).post(f"{url}complete/", {})
    assert incomplete.status_code == 409
    assert not FinancialStatement.objects.exists()
    assert not CreditMemo.objects.exists()


def test_memo_query_count_does_not_grow(apps: AppFactory, analyst: User, web: Any) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    client.post(f"{url}statements/", _statement("2023-12-31", revenue="1000"))
    client.post(url, {"business": "One", "version": "0"})
    few = _queries(client, url)
    for year in (2020, 2021, 2022, 2024):
        client.post(f"{url}statements/", _statement(f"{year}-12-31", revenue="1000", ebitda="100"))
    for version in range(1, 4):
        client.post(url, {"business": f"Version {version}", "version": str(version)})
    assert FinancialStatement.objects.count() == 5
    assert _queries(client, url) == few


# --- decisions ----------------------------------------------------------------------------------------
def test_an_approver_within_authority_approves_and_the_record_shows_its_basis(
    apps: AppFactory,
    authorised: User,
    web: Any,
) -> None:
    application = apps.at(Status.PENDING_DECISION)
    client = web(authorised)
    page = html(client.get(f"/applications/{application.pk}/"))
    assert 'id="decision-form"' in page
    assert "Branch credit officer" in page
    decided = client.post(
        f"/applications/{application.pk}/decide/",
        {"outcome": "approved", "comment": "Sound.", "version": application.version},
    )
    assert decided.status_code == 302
    decision = Decision.objects.get(application=application)
    assert decision.decided_by == authorised
    assert decision.level.slug == "regional_head"
    page = html(client.get(f"/applications/{application.pk}/"))
    assert f'id="decision-{decision.pk}"' in page
    assert "Regional head" in page
    assert "CNY 5,000,000.00" in page
    assert "Sound." in page
    assert f"<dd>{decision.memo_version}</dd>" in page
    assert f"<dd>{decision.risk_grade}</dd>" in page


def test_the_maker_and_an_approver_beyond_authority_are_refused_403(
    apps: AppFactory,
    analyst: User,
    make_user: Callable[..., User],
    web: Any,
) -> None:
    application = apps.at(Status.PENDING_DECISION)
    delegate(analyst, "head_office_credit")  # even with authority, the analyst wrote the memo
    data = {"outcome": "approved", "version": application.version}
    maker = web(analyst).post(f"/applications/{application.pk}/decide/", data)
    assert maker.status_code == 403
    assert "four-eyes" in html(maker)
    small = make_user("small_approver", Role.CREDIT_APPROVER)
    delegate(small, "rm")
    beyond = web(small).post(f"/applications/{application.pk}/decide/", data)
    assert beyond.status_code == 403
    assert "your delegation does not cover it" in html(beyond)
    assert not Decision.objects.exists()
    application.refresh_from_db()
    assert application.status == Status.PENDING_DECISION


def test_decision_form_errors_and_a_decision_out_of_turn(
    apps: AppFactory,
    authorised: User,
    web: Any,
) -> None:
    pending = apps.at(Status.PENDING_DECISION)
    url = f"/applications/{pending.pk}/decide/"
    no_reason = web(authorised).post(url, {"outcome": "declined", "comment": "", "version": pending.version})
    assert no_reason.status_code == 400
    assert "Say why the application is declined or referred up." in html(no_reason)
    no_conditions = web(authorised).post(
        url, {"outcome": "approved_with_conditions", "version": pending.version}
    )
    assert no_conditions.status_code == 400
    draft = apps.at(Status.DRAFT)
    early = web(authorised).post(
        f"/applications/{draft.pk}/decide/", {"outcome": "approved", "version": draft.version}
    )
    assert early.status_code == 409
    assert "not awaiting a credit decision" in html(early)
    stale = web(authorised).post(url, {"outcome": "approved", "version": pending.version - 1})
    assert stale.status_code == 409
    assert "Someone changed this application" in html(stale)
    assert not Decision.objects.exists()
    referred = web(authorised).post(
        url, {"outcome": "referred_up", "comment": "Needs head office.", "version": pending.version}
    )
    assert referred.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.REFERRED_UP
    assert pending.required_level is not None
    assert pending.required_level.slug == "head_office_credit"


def test_conditions_of_approval_are_tracked_until_met_or_waived(
    apps: AppFactory,
    rm_a: User,
    authorised: User,
    web: Any,
) -> None:
    application = apps.at(Status.PENDING_DECISION)
    web(authorised).post(
        f"/applications/{application.pk}/decide/",
        {
            "outcome": "approved_with_conditions",
            "conditions": "Pledge of the new line\nBoard resolution",
            "version": application.version,
        },
    )
    first, second = Condition.objects.filter(application=application).order_by("id")
    page = html(web(rm_a).get(f"/applications/{application.pk}/"))
    assert 'id="conditions"' in page
    assert "Pledge of the new line" in page
    url = f"/applications/{application.pk}/conditions/"
    no_note = web(rm_a).post(url, {"condition": first.pk, "action": "met", "note": ""})
    assert no_note.status_code == 400
    met = web(rm_a).post(url, {"condition": first.pk, "action": "met", "note": "Pledge registered"})
    assert met.status_code == 302
    waive_by_rm = web(rm_a).post(url, {"condition": second.pk, "action": "waive", "note": "Not needed"})
    assert waive_by_rm.status_code == 403
    assert "Only a credit approver may waive a condition." in html(waive_by_rm)
    waived = web(authorised).post(url, {"condition": second.pk, "action": "waive", "note": "Not needed"})
    assert waived.status_code == 302
    assert [c.status for c in Condition.objects.order_by("id")] == ["met", "waived"]


def test_the_committee_votes_to_a_quorum(
    apps: AppFactory,
    make_user: Callable[..., User],
    web: Any,
) -> None:
    application = apps.at(Status.PENDING_DECISION, facilities=[facility(amount=Decimal("400000000"))])
    assert application.required_level is not None
    assert application.required_level.is_committee
    members = []
    for index in range(3):
        member = make_user(f"member{index}", Role.COMMITTEE_MEMBER)
        delegate(member, "credit_committee")
        members.append(member)
    url = f"/applications/{application.pk}/vote/"
    page = html(web(members[0]).get(f"/applications/{application.pk}/"))
    assert 'id="vote-form"' in page
    assert "0 votes of a quorum of 3" in page
    no_dissent = web(members[0]).post(url, {"vote": "decline", "comment": ""})
    assert no_dissent.status_code == 400
    assert web(members[0]).post(url, {"vote": "approve", "comment": "Strong sponsor"}).status_code == 302
    again = web(members[0]).post(url, {"vote": "approve"})
    assert again.status_code == 409
    assert "already voted" in html(again)
    assert web(members[1]).post(url, {"vote": "decline", "comment": "Too concentrated"}).status_code == 302
    page = html(web(members[2]).get(f"/applications/{application.pk}/"))
    assert "2 votes of a quorum of 3" in page
    assert "Too concentrated" in page
    assert web(members[2]).post(url, {"vote": "approve"}).status_code == 302
    assert CommitteeVote.objects.count() == 3
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert Decision.objects.get(application=application).level.slug == "credit_committee"


# --- offers -----------------------------------------------------------------------------------------
def test_the_rm_issues_the_offer_and_records_its_acceptance(
    apps: AppFactory,
    rm_a: User,
    web: Any,
) -> None:
    application = apps.at(Status.APPROVED)
    client = web(rm_a)
    assert 'id="offer-form"' in html(client.get(f"/applications/{application.pk}/"))
    past = client.post(f"/applications/{application.pk}/offers/new/", {"expires_on": "2000-01-01"})
    assert past.status_code == 400
    assert "Give a date after today" in html(past)
    expires = (timezone.localdate() + timedelta(days=20)).isoformat()
    issued = client.post(f"/applications/{application.pk}/offers/new/", {"expires_on": expires})
    offer = Offer.objects.get(application=application)
    assert issued.status_code == 302
    assert issued["Location"] == f"/offers/{offer.pk}/"
    letter = html(client.get(f"/offers/{offer.pk}/"))
    assert 'id="offer-letter"' in letter
    assert offer.reference in letter
    assert "Working capital" in letter
    assert "CNY 5,000,000.00" in letter
    assert "4.35 %" in letter
    accepted = client.post(f"/offers/{offer.pk}/accept/", {"version": offer.version})
    assert accepted.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.OFFER_ACCEPTED
    again = client.post(f"/offers/{offer.pk}/accept/", {"version": offer.version + 1}, follow=True)
    assert "This offer is" in html(again)
    page = html(client.get(f"/applications/{application.pk}/"))
    assert 'data-move="conditions_met"' in page


def test_an_approver_cannot_issue_an_offer(apps: AppFactory, authorised: User, web: Any) -> None:
    application = apps.at(Status.APPROVED)
    expires = (timezone.localdate() + timedelta(days=20)).isoformat()
    refused = web(authorised).post(f"/applications/{application.pk}/offers/new/", {"expires_on": expires})
    assert refused.status_code == 403
    assert not Offer.objects.exists()


# --- the approver's queue and My day -----------------------------------------------------------------
def test_the_queue_lists_what_awaits_me_oldest_first_with_overdue_flagged(
    apps: AppFactory,
    authorised: User,
    rm_a: User,
    web: Any,
) -> None:
    newer = apps.at(Status.PENDING_DECISION)
    older = apps.at(Status.PENDING_DECISION)
    _backdate(older, 100)  # the target for pending decision is 48 hours
    body = html(web(authorised).get("/decisions/"))
    assert body.index(older.reference) < body.index(newer.reference)
    assert 'class="overdue"' in body
    assert "Decisions" in html(web(authorised).get("/")).split('class="mainnav"')[1].split("</nav>")[0]
    assert older.reference not in html(web(rm_a).get("/decisions/"))
    assert "/decisions/" not in html(web(rm_a).get("/")).split('class="mainnav"')[1].split("</nav>")[0]


def test_queue_query_count_does_not_grow(apps: AppFactory, authorised: User, web: Any) -> None:
    apps.at(Status.PENDING_DECISION)
    small = _queries(web(authorised), "/decisions/")
    for _ in range(3):
        apps.at(Status.PENDING_DECISION)
    assert _queries(web(authorised), "/decisions/") == small


def test_my_day_shows_overdue_applications_and_what_awaits_a_decision(
    apps: AppFactory,
    rm_a: User,
    authorised: User,
    web: Any,
) -> None:
    late = apps.at(Status.SUBMITTED)
    _backdate(late, 30)
    pending = apps.at(Status.PENDING_DECISION)
    rm_day = html(web(rm_a).get("/"))
    assert 'id="late-applications"' in rm_day
    assert late.reference in rm_day
    assert pending.reference not in rm_day.split('id="late-applications"')[1].split("</section>")[0]
    approver_day = html(web(authorised).get("/"))
    assert 'id="awaiting-decision"' in approver_day
    assert pending.reference in approver_day
    assert 'id="count-awaiting"' in approver_day


# --- labels, languages and the CSP ----------------------------------------------------------------------
def test_origination_pages_are_labelled_and_free_of_inline_code(
    apps: AppFactory,
    rm_a: User,
    analyst: User,
    authorised: User,
    web: Any,
) -> None:
    analysed = apps.at(Status.CREDIT_ANALYSIS)
    pending = apps.at(Status.PENDING_DECISION)
    offered = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=offered)
    for user, path in (
        (rm_a, "/applications/"),
        (rm_a, "/applications/new/"),
        (rm_a, f"/applications/{analysed.pk}/"),
        (analyst, f"/applications/{analysed.pk}/"),
        (analyst, f"/applications/{analysed.pk}/memo/"),
        (authorised, f"/applications/{pending.pk}/"),
        (authorised, "/decisions/"),
        (authorised, "/"),
        (rm_a, f"/offers/{offer.pk}/"),
    ):
        _check(html(web(user).get(path)), path)


def test_origination_templates_have_no_text_outside_translate_tags() -> None:
    folder = PACKAGE / "origination" / "templates"
    offenders = {
        str(path.relative_to(PACKAGE)): left[:5]
        for path in folder.rglob("*.html")
        if (left := _untranslated(path.read_text()))
    }
    assert not offenders, offenders
