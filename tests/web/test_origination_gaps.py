"""Origination pages that closed the gaps: editing a draft, withdrawing an offer and an application,
reading an old memo revision (a decision's basis), and the party 360's pipeline panel."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination import services
from lendcrm.origination.models import (
    Application,
    Decision,
    MemoRevision,
    Offer,
    OfferStatus,
    Status,
    StatusChange,
)
from lendcrm.origination.services import decisions as decision_services
from lendcrm.parties.models import Coverage, Party, PartyKind
from lendcrm.pipeline import services as pipeline_services
from tests.origination.authority_fixtures import delegate
from tests.origination.conftest import AppFactory, facility
from tests.web.conftest import html
from tests.web.test_accessibility import _check

pytestmark = pytest.mark.django_db


def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


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
def hidden_party(branch_b: Branch) -> Party:
    return Party.objects.create(kind=PartyKind.CORPORATE, legal_name="Chaoyang Steel", branch=branch_b)


@pytest.fixture
def authorised(make_user: Callable[..., User]) -> User:
    """A credit approver with regional-head authority (CNY 50 million, grade 7)."""
    approver = make_user("approver", Role.CREDIT_APPROVER)
    delegate(approver, "regional_head")
    return approver


@pytest.fixture
def rm_a2(make_user: Callable[..., User]) -> User:
    """Another RM of branch A: a customer writer in scope who does not own the application."""
    return make_user("rm_a2", Role.RELATIONSHIP_MANAGER)


@pytest.fixture
def compliance(make_user: Callable[..., User]) -> User:
    """Reads the whole book, writes no customer data: not the RM's side of an application."""
    return make_user("compliance", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def apps(rm_a: User, analyst: User, authorised: User, borrower: Party) -> AppFactory:
    return AppFactory(rm_a, analyst, authorised, borrower)


def _edit_post(application: Application, **overrides: Any) -> dict[str, Any]:
    """The edit form as the browser posts it: purpose, one working-capital facility, no other party."""
    data: dict[str, Any] = {
        "version": application.version,
        "purpose": "Working capital for the new casting line",
        "facilities-TOTAL_FORMS": "1",
        "facilities-INITIAL_FORMS": "1",
        "facilities-MIN_NUM_FORMS": "1",
        "facilities-MAX_NUM_FORMS": "10",
        "facilities-0-product": "working_capital",
        "facilities-0-amount": "5000000.00",
        "facilities-0-currency": "CNY",
        "facilities-0-tenor_months": "36",
        "facilities-0-repayment_profile": "annuity",
        "facilities-0-grace_months": "0",
        "facilities-0-rate_type": "fixed",
        "facilities-0-fixed_rate_pct": "4.35",
    }
    data.update(overrides)
    return data


def _state(application: Application) -> tuple[Any, ...]:
    """What an edit could change, to show a refusal changed nothing."""
    application.refresh_from_db()
    return (
        application.version,
        application.status,
        application.purpose,
        list(application.facilities.order_by("id").values_list("product__code", "amount", "lgd")),
        sorted(application.parties.values_list("party_id", "role")),
    )


# --- 1. editing a draft -------------------------------------------------------------------------------
def test_the_rm_edits_a_draft_purpose_facilities_and_parties(
    apps: AppFactory, rm_a: User, web: Any, guarantor: Party, branch_a: Branch
) -> None:
    sponsor = Party.objects.create(kind=PartyKind.CORPORATE, legal_name="Lujiazui Sponsor", branch=branch_a)
    draft = apps.draft(purpose="Old purpose", parties=[{"party": guarantor.pk, "role": "guarantor"}])
    client = web(rm_a)
    page = html(client.get(f"/applications/{draft.pk}/"))
    assert f'href="/applications/{draft.pk}/edit/"' in page
    form = client.get(f"/applications/{draft.pk}/edit/")
    assert form.status_code == 200
    body = html(form)
    assert "Old purpose" in body
    assert 'value="5000000.00"' in body
    assert 'value="40.00"' in body  # the default LGD, in percent as it is typed
    assert guarantor.legal_name in body
    before = draft.version
    saved = client.post(
        f"/applications/{draft.pk}/edit/",
        _edit_post(
            draft,
            **{
                "facilities-TOTAL_FORMS": "2",
                "facilities-0-amount": "6000000.00",
                "facilities-0-lgd_pct": "35",
                "facilities-1-product": "term_loan",
                "facilities-1-amount": "2000000.00",
                "facilities-1-currency": "CNY",
                "facilities-1-tenor_months": "60",
                "facilities-1-repayment_profile": "equal_principal",
                "facilities-1-rate_type": "fixed",
                "facilities-1-fixed_rate_pct": "4.9",
                "party": [str(sponsor.pk)],
                f"role_{sponsor.pk}": "sponsor",
            },
        ),
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/applications/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.version == before + 1
    assert draft.purpose == "Working capital for the new casting line"
    rows = list(draft.facilities.order_by("position").values_list("product__code", "amount", "lgd"))
    assert rows == [
        ("working_capital", Decimal("6000000.00"), Decimal("0.3500")),
        ("term_loan", Decimal("2000000.00"), Decimal("0.4000")),
    ]
    assert sorted(draft.parties.values_list("party_id", "role")) == sorted(
        [(apps.borrower.pk, "borrower"), (sponsor.pk, "sponsor")]
    )
    assert AuditEvent.objects.filter(action="application.updated", object_id=str(draft.pk)).exists()


def test_the_edit_link_shows_only_on_a_draft_and_to_the_rms_side(
    apps: AppFactory, rm_a: User, rm_a2: User, compliance: User, authorised: User, web: Any
) -> None:
    draft = apps.at(Status.DRAFT)
    link = f'href="/applications/{draft.pk}/edit/"'
    assert link in html(web(rm_a2).get(f"/applications/{draft.pk}/"))  # a customer writer in scope
    assert link not in html(web(compliance).get(f"/applications/{draft.pk}/"))
    assert link not in html(web(authorised).get(f"/applications/{draft.pk}/"))
    submitted = apps.at(Status.SUBMITTED)
    assert f'href="/applications/{submitted.pk}/edit/"' not in html(
        web(rm_a).get(f"/applications/{submitted.pk}/")
    )


def test_editing_is_403_for_other_roles_and_404_out_of_scope_changing_nothing(
    apps: AppFactory, compliance: User, authorised: User, rm_b: User, admin_user: User, web: Any
) -> None:
    draft = apps.at(Status.DRAFT)
    before = _state(draft)
    url = f"/applications/{draft.pk}/edit/"
    for user, status in ((compliance, 403), (authorised, 403), (rm_b, 404), (admin_user, 404)):
        assert web(user).get(url).status_code == status, user.username
        response = web(user).post(url, _edit_post(draft, purpose="Hijacked"))
        assert response.status_code == status, user.username
        assert "Hijacked" not in html(response)
    assert web(rm_b).get(url).status_code == 404
    assert "Pudong Precision" not in html(web(rm_b).get(url))
    assert web(apps.rm).get("/applications/999999/edit/").status_code == 404
    assert _state(draft) == before


def test_a_submitted_application_cannot_be_edited_409(apps: AppFactory, rm_a: User, web: Any) -> None:
    submitted = apps.at(Status.SUBMITTED)
    before = _state(submitted)
    url = f"/applications/{submitted.pk}/edit/"
    shown = web(rm_a).get(url)
    assert shown.status_code == 409
    assert "Only a draft application can be edited." in html(shown)
    posted = web(rm_a).post(url, _edit_post(submitted, purpose="Too late"))
    assert posted.status_code == 409
    assert "Only a draft application can be edited." in html(posted)
    assert _state(submitted) == before


def test_a_stale_edit_is_409_shows_the_current_values_and_keeps_what_was_typed(
    apps: AppFactory, rm_a: User, rm_a2: User, web: Any, guarantor: Party
) -> None:
    draft = apps.draft(purpose="First purpose")
    opened_at = draft.version
    services.update_application(
        actor=rm_a2,
        application_id=draft.pk,
        changes={"purpose": "Colleague's purpose", "parties": [{"party": guarantor.pk, "role": "guarantor"}]},
        expected_version=opened_at,
    )
    before = _state(draft)
    response = web(rm_a).post(
        f"/applications/{draft.pk}/edit/",
        _edit_post(draft, version=opened_at, purpose="My purpose", **{"facilities-0-amount": "7000000.00"}),
    )
    assert response.status_code == 409
    body = html(response)
    assert "Someone else saved a change while you were editing" in body
    assert "Colleague&#x27;s purpose" in body  # the form shows the current values
    assert "My purpose" in body  # what was typed is listed, not lost
    assert "7000000.00" in body
    assert guarantor.legal_name in body  # the colleague's guarantor is shown chosen
    assert f'name="version" value="{before[0]}"' in body
    assert _state(draft) == before


def test_bad_edits_are_400_with_the_reason_and_change_nothing(
    apps: AppFactory, rm_a: User, web: Any, hidden_party: Party
) -> None:
    draft = apps.draft(purpose="Kept purpose")
    before = _state(draft)
    url = f"/applications/{draft.pk}/edit/"
    client = web(rm_a)
    no_purpose = client.post(url, _edit_post(draft, purpose=""))
    assert no_purpose.status_code == 400
    assert "This field is required." in html(no_purpose)
    grace = client.post(url, _edit_post(draft, **{"facilities-0-grace_months": "48"}))
    assert grace.status_code == 400
    assert 'id="facility-0"' in html(grace)
    hidden = client.post(
        url, _edit_post(draft, party=[str(hidden_party.pk)], **{f"role_{hidden_party.pk}": "guarantor"})
    )
    assert hidden.status_code == 400
    assert "No such party." in html(hidden)
    assert "Chaoyang Steel" not in html(hidden)
    no_role = client.post(url, _edit_post(draft, party=["12"]))
    assert no_role.status_code == 400
    assert "Choose a role for each party you add." in html(no_role)
    bad_version = client.post(url, _edit_post(draft, version="x"))
    assert bad_version.status_code == 400
    assert _state(draft) == before


def test_add_another_facility_on_the_edit_page_keeps_what_was_typed(
    apps: AppFactory, rm_a: User, web: Any
) -> None:
    draft = apps.draft()
    before = _state(draft)
    response = web(rm_a).post(
        f"/applications/{draft.pk}/edit/", _edit_post(draft, purpose="Typed so far", add_facility="1")
    )
    assert response.status_code == 200
    body = html(response)
    assert 'id="facility-1"' in body
    assert "Typed so far" in body
    assert _state(draft) == before


def test_edit_page_query_count_does_not_grow(
    apps: AppFactory, rm_a: User, web: Any, branch_a: Branch
) -> None:
    small = apps.draft()
    others = [
        Party.objects.create(kind=PartyKind.SME, legal_name=f"Guarantor {i}", branch=branch_a)
        for i in range(5)
    ]
    large = apps.draft(
        facilities=[facility(amount=Decimal(1_000_000 + i)) for i in range(6)],
        parties=[{"party": p.pk, "role": "guarantor"} for p in others],
    )
    count = _queries(web(rm_a), f"/applications/{small.pk}/edit/")
    assert _queries(web(rm_a), f"/applications/{large.pk}/edit/") == count
    assert count == 13


# --- 2. withdrawing an offer, withdrawing or expiring an application -----------------------------------
def test_the_rm_withdraws_an_offer_and_the_application_ends_with_it(
    apps: AppFactory, rm_a: User, web: Any
) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    client = web(rm_a)
    letter = html(client.get(f"/offers/{offer.pk}/"))
    assert 'id="withdraw-form"' in letter
    response = client.post(
        f"/offers/{offer.pk}/withdraw/", {"version": offer.version, "note": "Customer took a bond instead"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{application.pk}/"
    offer.refresh_from_db()
    application.refresh_from_db()
    assert offer.status == OfferStatus.WITHDRAWN
    assert application.status == Status.WITHDRAWN
    change = StatusChange.objects.filter(application=application).latest("changed_at", "id")
    assert (change.to_status, change.note, change.changed_by_id) == (
        Status.WITHDRAWN,
        "Customer took a bond instead",
        rm_a.pk,
    )
    assert AuditEvent.objects.filter(action="offer.withdrawn", object_id=str(offer.pk)).exists()
    assert 'id="withdraw-form"' not in html(client.get(f"/offers/{offer.pk}/"))


def test_withdrawing_an_offer_is_refused_with_the_right_status_and_changes_nothing(
    apps: AppFactory, rm_a: User, compliance: User, authorised: User, rm_b: User, web: Any
) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    url = f"/offers/{offer.pk}/withdraw/"

    def unchanged() -> None:
        offer.refresh_from_db()
        application.refresh_from_db()
        assert (offer.status, offer.version) == (OfferStatus.ISSUED, 1)
        assert application.status == Status.OFFER_ISSUED

    assert 'id="withdraw-form"' not in html(web(compliance).get(f"/offers/{offer.pk}/"))
    for user, status in ((compliance, 403), (authorised, 403), (rm_b, 404)):
        response = web(user).post(url, {"version": offer.version, "note": "Not mine"})
        assert response.status_code == status, user.username
        unchanged()
    assert web(rm_a).get(url).status_code == 405
    no_note = web(rm_a).post(url, {"version": offer.version, "note": ""})
    assert no_note.status_code == 400
    assert "This field is required." in html(no_note)
    assert 'id="withdraw" open>' in html(no_note)
    stale = web(rm_a).post(url, {"version": offer.version + 1, "note": "Stale"})
    assert stale.status_code == 409
    assert 'id="refusal"' in html(stale)
    unchanged()
    services.accept_offer(actor=rm_a, offer_id=offer.pk)
    offer.refresh_from_db()
    accepted = web(rm_a).post(url, {"version": offer.version, "note": "Too late"})
    assert accepted.status_code == 409
    assert "This offer is" in html(accepted)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED


def test_withdraw_and_expire_buttons_on_the_application_follow_role_and_workflow(
    apps: AppFactory, rm_a: User, rm_a2: User, analyst: User, authorised: User, web: Any
) -> None:
    draft = apps.at(Status.DRAFT)
    page = html(web(rm_a2).get(f"/applications/{draft.pk}/"))
    assert 'data-move="withdrawn"' in page
    assert 'data-move="expired"' not in page  # only the owner or an analyst expires
    assert 'data-move="withdrawn"' not in html(web(authorised).get(f"/applications/{draft.pk}/"))
    refused = web(authorised).post(
        f"/applications/{draft.pk}/move/", {"to_status": "withdrawn", "version": draft.version}
    )
    assert refused.status_code == 403
    not_owner = web(rm_a2).post(
        f"/applications/{draft.pk}/move/", {"to_status": "expired", "version": draft.version}
    )
    assert not_owner.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    withdrawn = web(rm_a).post(
        f"/applications/{draft.pk}/move/",
        {"to_status": "withdrawn", "version": draft.version, "note": "Paused"},
    )
    assert withdrawn.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.WITHDRAWN
    closed = html(web(rm_a).get(f"/applications/{draft.pk}/"))
    assert 'data-move="' not in closed
    again = web(rm_a).post(
        f"/applications/{draft.pk}/move/", {"to_status": "withdrawn", "version": draft.version}
    )
    assert again.status_code == 409
    submitted = apps.at(Status.SUBMITTED)
    assert 'data-move="expired"' in html(web(analyst).get(f"/applications/{submitted.pk}/"))
    expired = web(analyst).post(
        f"/applications/{submitted.pk}/move/", {"to_status": "expired", "version": submitted.version}
    )
    assert expired.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.EXPIRED


def test_withdrawing_an_application_with_a_live_offer_withdraws_the_offer(
    apps: AppFactory, rm_a: User, web: Any
) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    response = web(rm_a).post(
        f"/applications/{application.pk}/move/", {"to_status": "withdrawn", "version": application.version}
    )
    assert response.status_code == 302
    assert Offer.objects.get(application=application).status == OfferStatus.WITHDRAWN


# --- 3. reading an old memo revision ----------------------------------------------------------------
def _memo_history(apps: AppFactory, analyst: User, authorised: User) -> Application:
    """Memo v1 (grade 4, no statements), v2 (grade 5, after statements), v3 completed; decided on v3."""
    application = apps.at(Status.CREDIT_ANALYSIS)
    services.save_memo(
        actor=analyst,
        application_id=application.pk,
        changes={"risk_grade": 4, "business": "First take on the castings business."},
    )
    services.save_statement(
        actor=analyst,
        party_id=apps.borrower.pk,
        period_end=date(2024, 12, 31),
        period_months=12,
        kind="audited",
        currency="CNY",
        lines={
            "revenue": Decimal("1000"),
            "ebitda": Decimal("200"),
            "short_term_debt": Decimal("100"),
            "long_term_debt": Decimal("300"),
            "equity": Decimal("200"),
        },
    )
    services.save_memo(
        actor=analyst,
        application_id=application.pk,
        changes={"risk_grade": 5, "business": "Second take.", "recommendation": "Approve."},
        expected_version=1,
    )
    services.complete_memo(actor=analyst, application_id=application.pk, expected_version=2)
    services.transition(actor=analyst, application_id=application.pk, to_status=Status.PENDING_DECISION)
    application.refresh_from_db()
    decision_services.decide(
        actor=authorised,
        application_id=application.pk,
        outcome="approved",
        expected_version=application.version,
    )
    return application


def test_a_decisions_memo_version_links_to_that_revision_read_back_as_it_was(
    apps: AppFactory, rm_a: User, analyst: User, authorised: User, web: Any
) -> None:
    application = _memo_history(apps, analyst, authorised)
    decision = Decision.objects.get(application=application)
    assert decision.memo_version == 3
    link = f"/applications/{application.pk}/memo/revisions/?version=3"
    assert f'href="{link}"' in html(web(rm_a).get(f"/applications/{application.pk}/"))
    latest = web(rm_a).get(f"/applications/{application.pk}/memo/revisions/")
    assert latest.status_code == 200
    body = html(latest)
    for version in (1, 2, 3):
        assert f'data-version="{version}"' in body
    assert "Version 3" in body
    assert 'id="revision-basis"' in body
    assert "Second take." in body
    assert 'id="revision-state">complete' in body
    assert "2.00\u00d7" in body  # gearing 400 / 200, as the ratios stood
    assert "CNY 5,000,000.00" in body  # EAD of the facility
    first = html(web(rm_a).get(f"/applications/{application.pk}/memo/revisions/?version=1"))
    assert "First take on the castings business." in first
    assert "Second take." not in first
    grade = first.split('id="revision-grade">')[1].split("</dd>")[0]
    assert "<strong>4</strong>" in grade
    assert "No statements had been entered at this version." in first
    assert 'id="revision-basis"' not in first
    assert 'id="revision-state">draft' in first
    memo = html(web(analyst).get(f"/applications/{application.pk}/memo/"))
    assert f"/applications/{application.pk}/memo/revisions/?version=1" in memo


def test_revisions_are_404_out_of_scope_or_missing_and_400_for_a_bad_version(
    apps: AppFactory, rm_a: User, rm_b: User, admin_user: User, analyst: User, web: Any
) -> None:
    application = apps.at(Status.PENDING_DECISION)
    url = f"/applications/{application.pk}/memo/revisions/"
    assert web(rm_a).get(url).status_code == 200  # reading is for whoever sees the application
    for user in (rm_b, admin_user):
        response = web(user).get(f"{url}?version=1")
        assert response.status_code == 404
        assert "Pudong Precision" not in html(response)
    assert web(rm_a).get(f"{url}?version=99").status_code == 404
    for bad in ("abc", "0", "-1", "1.5", "²", "9" * 40):
        assert web(rm_a).get(f"{url}?version={bad}").status_code == 400, bad
    assert web(analyst).post(url).status_code == 405
    empty = apps.at(Status.DRAFT)
    page = web(rm_a).get(f"/applications/{empty.pk}/memo/revisions/")
    assert page.status_code == 200
    assert "No revisions yet." in html(page)


def test_revisions_page_query_count_does_not_grow(
    apps: AppFactory, rm_a: User, analyst: User, web: Any
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    services.save_memo(actor=analyst, application_id=application.pk, changes={"risk_grade": 4})
    url = f"/applications/{application.pk}/memo/revisions/"
    small = _queries(web(rm_a), url)
    for version in range(1, 8):
        services.save_memo(
            actor=analyst,
            application_id=application.pk,
            changes={"business": f"Draft {version}"},
            expected_version=version,
        )
    assert MemoRevision.objects.filter(memo__application=application).count() == 8
    assert _queries(web(rm_a), url) == small
    assert _queries(web(rm_a), f"{url}?version=2") == small
    assert small == 17


# --- 4. the party 360's pipeline panel --------------------------------------------------------------
def _opportunity(rm: User, party: Party, title: str) -> Any:
    return pipeline_services.create_opportunity(
        actor=rm,
        party_id=party.pk,
        data={"title": title, "products": ["term_loan"], "amount": Decimal("8000000.00"), "currency": "CNY"},
    )


def test_the_360_page_opens_a_new_opportunity_and_lists_open_business(
    apps: AppFactory, rm_a: User, authorised: User, web: Any
) -> None:
    party = apps.borrower
    open_deal = _opportunity(rm_a, party, "Casting line expansion")
    lost_deal = _opportunity(rm_a, party, "Lost warehouse deal")
    pipeline_services.move_opportunity(
        actor=rm_a, opportunity_id=lost_deal.pk, stage="lost", lost_reason="price"
    )
    live = apps.at(Status.SUBMITTED)
    gone = apps.at(Status.WITHDRAWN)
    body = html(web(rm_a).get(f"/parties/{party.pk}/"))
    assert f'href="/pipeline/opportunities/new/?party={party.pk}"' in body
    panel = body.split('id="party-pipeline"')[1].split("</section>")[0]
    assert "Casting line expansion" in panel
    assert "CNY 8,000,000.00" in panel
    assert "Lost warehouse deal" not in panel
    assert live.reference in panel
    assert gone.reference not in panel
    new = web(rm_a).get(f"/pipeline/opportunities/new/?party={party.pk}")
    assert new.status_code == 200
    assert party.legal_name in html(new)
    reader = html(web(authorised).get(f"/parties/{party.pk}/"))
    assert "/pipeline/opportunities/new/" not in reader  # a reader of the whole book opens nothing
    assert live.reference in reader.split('id="party-pipeline"')[1]
    assert open_deal.title in reader


def test_an_empty_panel_says_so(rm_a: User, web: Any, borrower: Party) -> None:
    panel = html(web(rm_a).get(f"/parties/{borrower.pk}/")).split('id="party-pipeline"')[1]
    assert "No open opportunity." in panel
    assert "No open application." in panel


def test_the_360_page_query_count_stays_constant_with_the_pipeline(
    apps: AppFactory, rm_a: User, rm_b: User, web: Any
) -> None:
    party = apps.borrower
    _opportunity(rm_a, party, "Deal 0")
    apps.at(Status.DRAFT)
    small = _queries(web(rm_a), f"/parties/{party.pk}/")
    for i in range(1, 13):
        _opportunity(rm_a, party, f"Deal {i}")
        apps.draft()
    body = html(web(rm_a).get(f"/parties/{party.pk}/"))
    assert "The 10 most recently changed are shown." in body
    assert "The 10 newest are shown." in body
    assert _queries(web(rm_a), f"/parties/{party.pk}/") == small
    # 30 before the pipeline panel (its opportunities and applications are one query each); the post-loan
    # panels add 8: facilities with party and group arrears, and signals, watch status and reviews.
    assert small == 40
    assert web(rm_b).get(f"/parties/{party.pk}/").status_code == 404


# --- pages are labelled and free of inline code --------------------------------------------------------
def test_the_new_pages_are_labelled_and_free_of_inline_code(
    apps: AppFactory, rm_a: User, analyst: User, authorised: User, web: Any
) -> None:
    draft = apps.at(Status.DRAFT)
    decided = _memo_history(apps, analyst, authorised)
    offered = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=offered)
    for path in (
        f"/applications/{draft.pk}/edit/",
        f"/applications/{decided.pk}/memo/revisions/?version=1",
        f"/offers/{offer.pk}/",
        f"/parties/{apps.borrower.pk}/",
    ):
        _check(html(web(rm_a).get(path)), path)


def test_a_status_change_by_the_system_shows_no_one(
    apps: AppFactory, rm_a: User, web: Any, api_client: Any
) -> None:
    application = apps.at(Status.OFFER_ISSUED)
    offer = Offer.objects.get(application=application)
    assert services.expire_stale(actor=None, today=offer.expires_on + timedelta(days=1)) == [offer.reference]
    page = web(rm_a).get(f"/applications/{application.pk}/")
    assert page.status_code == 200
    assert 'data-value="expired"' in html(page)
    detail = api_client(rm_a).get(f"/api/v1/applications/{application.pk}/")
    assert detail.status_code == 200
    assert detail.json()["status_history"][-1]["changed_by"] is None
