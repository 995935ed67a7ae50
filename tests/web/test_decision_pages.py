"""Decisions on the application page: an approver within authority, refusals (the maker, beyond authority,
out of turn, bad forms), conditions of approval, committee votes to a quorum; the approver's queue
and My day."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import CommitteeVote, Condition, Decision, Status
from tests.origination.authority_fixtures import delegate
from tests.origination.conftest import AppFactory, facility
from tests.web.conftest import html
from tests.web.origination_fixtures import apps, authorised, backdate, borrower, page_queries

__all__ = ["apps", "authorised", "borrower"]  # fixtures shared by the origination page tests

pytestmark = pytest.mark.django_db


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


# --- the approver's queue and My day -----------------------------------------------------------------
def test_the_queue_lists_what_awaits_me_oldest_first_with_overdue_flagged(
    apps: AppFactory,
    authorised: User,
    rm_a: User,
    web: Any,
) -> None:
    newer = apps.at(Status.PENDING_DECISION)
    older = apps.at(Status.PENDING_DECISION)
    backdate(older, 100)  # the target for pending decision is 48 hours
    body = html(web(authorised).get("/decisions/"))
    assert body.index(older.reference) < body.index(newer.reference)
    assert 'class="overdue"' in body
    assert "Decisions" in html(web(authorised).get("/")).split('class="mainnav"')[1].split("</nav>")[0]
    assert older.reference not in html(web(rm_a).get("/decisions/"))
    assert "/decisions/" not in html(web(rm_a).get("/")).split('class="mainnav"')[1].split("</nav>")[0]


def test_queue_query_count_does_not_grow(apps: AppFactory, authorised: User, web: Any) -> None:
    apps.at(Status.PENDING_DECISION)
    small = page_queries(web(authorised), "/decisions/")
    for _ in range(3):
        apps.at(Status.PENDING_DECISION)
    assert page_queries(web(authorised), "/decisions/") == small


def test_my_day_shows_overdue_applications_and_what_awaits_a_decision(
    apps: AppFactory,
    rm_a: User,
    authorised: User,
    web: Any,
) -> None:
    late = apps.at(Status.SUBMITTED)
    backdate(late, 30)
    pending = apps.at(Status.PENDING_DECISION)
    rm_day = html(web(rm_a).get("/"))
    assert 'id="late-applications"' in rm_day
    assert late.reference in rm_day
    assert pending.reference not in rm_day.split('id="late-applications"')[1].split("</section>")[0]
    approver_day = html(web(authorised).get("/"))
    assert 'id="awaiting-decision"' in approver_day
    assert pending.reference in approver_day
    assert 'id="count-awaiting"' in approver_day
