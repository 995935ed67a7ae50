"""The application pages: the list, a new application with its party picker, the application page with its
checklist, moves and group exposure; labels, languages and inline code on every origination page.
The memo and offers are in test_memo_offer_pages.py, decisions and the queue in test_decision_pages.py."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import get_resolver

from lendcrm.core.models import Branch, User
from lendcrm.origination.models import Application, ChecklistItem, ChecklistStatus, Offer, Status
from lendcrm.parties.models import Party, Relationship, RelationshipKind
from tests.contract.test_access_matrix import _routes
from tests.origination.authority_fixtures import make_application, make_party
from tests.origination.conftest import AppFactory, facility
from tests.web.conftest import html
from tests.web.origination_fixtures import apps, authorised, backdate, borrower, guarantor, page_queries
from tests.web.test_accessibility import _check
from tests.web.test_i18n import PACKAGE, _untranslated

__all__ = ["apps", "authorised", "borrower", "guarantor"]  # fixtures shared by the origination page tests

pytestmark = pytest.mark.django_db


# --- the list ---------------------------------------------------------------------------------------
def test_list_shows_status_and_time_against_target_in_scope(
    apps: AppFactory,
    rm_a: User,
    rm_b: User,
    web: Any,
) -> None:
    draft = apps.at(Status.DRAFT)
    submitted = apps.at(Status.SUBMITTED)
    backdate(submitted, 20)  # the target for submitted is 8 hours
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
    small = page_queries(web(rm_a), "/applications/")
    for _ in range(4):
        apps.at(Status.SUBMITTED)
    assert page_queries(web(rm_a), "/applications/") == small


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


def _row(body: str, item_id: int) -> str:
    return body.split(f'id="check-{item_id}"')[1].split("</li>")[0]


def _options(row: str) -> dict[str, bool]:
    """The status options of a checklist row: value -> whether it may be chosen."""
    select = row.split('name="status"')[1].split("</select>")[0]
    return {
        part.split('"')[1]: "disabled" not in part.split(">")[0]
        for part in select.split("<option value=")[1:]
    }


def test_each_user_is_offered_only_the_checklist_statuses_they_may_set(
    apps: AppFactory, rm_a: User, analyst: User, web: Any
) -> None:
    application = apps.at(Status.IN_REVIEW)
    first, second = application.checklist.order_by("position")[:2]
    detail = f"/applications/{application.pk}/"
    # the RM receives papers; verifying and waiving are the analyst's
    assert _options(_row(html(web(rm_a).get(detail)), first.pk)) == {"required": True, "received": True}
    # an analyst (who also may write customer data) sets any of them
    assert _options(_row(html(web(analyst).get(detail)), first.pk)) == dict.fromkeys(
        ChecklistStatus.values, True
    )
    hx = {"HTTP_HX_REQUEST": "true"}
    url = f"/applications/{application.pk}/checklist/"
    web(analyst).post(url, {"item": first.pk, "status": "verified"}, **hx)
    web(analyst).post(url, {"item": second.pk, "status": "waived", "waiver_reason": "Filed last year"}, **hx)
    rm_page = html(web(rm_a).get(detail))
    row = _row(rm_page, first.pk)
    assert _options(row) == {"required": True, "received": True, "verified": False}
    assert 'value="verified" selected disabled' in row  # the row still says what the item is
    # the RM may not waive: no reason box, the reason shown once under the document's name
    waived = _row(rm_page, second.pk)
    assert 'name="waiver_reason"' not in waived
    assert waived.count("Filed last year") == 1
    # the current status posted back unchanged by the RM is still the analyst's to set: refused, unchanged
    again = web(rm_a).post(url, {"item": first.pk, "status": "verified"}, **hx)
    assert again.status_code == 422
    assert "Only a credit analyst may do this." in html(again)
    nothing = web(rm_a).post(url, {"item": first.pk}, **hx)  # a disabled option sends no status
    assert nothing.status_code == 422
    assert "Choose the status to set." in html(nothing)
    first.refresh_from_db()
    assert first.status == ChecklistStatus.VERIFIED


def test_a_saved_checklist_row_is_laid_out_like_the_others(apps: AppFactory, analyst: User, web: Any) -> None:
    application = apps.at(Status.IN_REVIEW)
    item, other = application.checklist.order_by("position")[:2]
    url = f"/applications/{application.pk}/checklist/"
    saved = web(analyst).post(
        url, {"item": item.pk, "status": "waived", "waiver_reason": "Filed last year"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200
    row = html(saved)
    # the message has its own cell, present (empty) on every row, so saving moves no control
    assert '<span class="check-saved" role="status">Saved.</span>' in row
    unsaved = _row(html(web(analyst).get(f"/applications/{application.pk}/")), other.pk)
    assert '<span class="check-saved" role="status"></span>' in unsaved
    assert row.count("<select") == unsaved.count("<select") == 1
    assert row.count("<input") == unsaved.count("<input")
    # the reason is in its box only, not again under the document's name
    assert row.count("Filed last year") == 1
    assert 'value="Filed last year"' in row


def test_with_no_step_forward_closing_is_folded_away(
    apps: AppFactory, rm_a: User, analyst: User, web: Any
) -> None:
    submitted = apps.at(Status.SUBMITTED)
    rm_page = html(web(rm_a).get(f"/applications/{submitted.pk}/"))
    assert "Next step" not in rm_page  # nothing forward for the RM while the analyst has it
    assert 'class="panel moves"' not in rm_page
    closing = rm_page.split('<details id="close-app">')[1].split("</details>")[0]
    assert "Close this application" in closing
    assert 'data-move="withdrawn"' in closing
    assert 'data-move="expired"' in closing
    assert 'class="btn small secondary danger"' in closing
    analyst_page = html(web(analyst).get(f"/applications/{submitted.pk}/"))
    bar = analyst_page.split('class="panel moves"')[1].split("</form>")[0]
    assert "Next step" in bar
    assert 'data-move="in_review"' in bar
    assert 'id="move-note"' in bar
    assert 'id="close-app"' not in analyst_page
    withdrawn = web(rm_a).post(
        f"/applications/{submitted.pk}/move/",
        {"to_status": "withdrawn", "version": submitted.version, "note": "Customer went elsewhere"},
    )
    assert withdrawn.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.WITHDRAWN
    assert submitted.status_changes.order_by("-id")[0].note == "Customer went elsewhere"


def test_detail_query_count_does_not_grow(
    apps: AppFactory,
    rm_a: User,
    web: Any,
    guarantor: Party,
    branch_a: Any,
) -> None:
    small = apps.at(Status.PENDING_DECISION)
    few = page_queries(web(rm_a), f"/applications/{small.pk}/")
    more_parties = [{"party": make_party(branch_a).pk, "role": "guarantor"} for _ in range(4)]
    big = apps.at(
        Status.PENDING_DECISION,
        facilities=[facility(product="project_finance"), facility(), facility(amount=Decimal("900000"))],
        parties=more_parties,
    )
    for _ in range(3):  # more applications in the group: more exposure rows
        apps.at(Status.APPROVED)
    assert page_queries(web(rm_a), f"/applications/{big.pk}/") == few


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
