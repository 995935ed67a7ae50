"""Group exposure, routing to the lowest capable level, the authority check and the approver's queue,
under the default matrix (v1): rm ≤ 1M grade 4, branch officer ≤ 10M grade 6, regional head ≤ 50M
grade 7, head office ≤ 300M grade 8, committee unlimited."""

from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import authority
from lendcrm.origination.models import Application, Status
from lendcrm.parties.models import Relationship, RelationshipKind
from tests.origination.authority_fixtures import (
    CreditBank,
    bank_fixture,  # noqa: F401 (the `bank` fixture)
    connect_group,
    delegate,
    make_party,
    set_grade,
)

pytestmark = pytest.mark.django_db


def _check(approver: User, application: Application) -> Any:
    application.refresh_from_db()
    return authority.check_authority(approver=approver, application=application)


def _refused(approver: User, application: Application) -> str:
    with pytest.raises(errors.PermissionDenied) as caught:
        _check(approver, application)
    assert caught.value.status == 403
    return caught.value.code


# --- exposure -------------------------------------------------------------------------------------
def test_exposure_adds_the_groups_approved_applications_in_the_base_currency(bank: CreditBank) -> None:
    sub, sister, other = (make_party(bank.branch) for _ in range(3))
    Relationship.objects.create(from_party=bank.borrower, to_party=sub, kind=RelationshipKind.PARENT_OF)
    Relationship.objects.create(from_party=sister, to_party=bank.borrower, kind=RelationshipKind.GUARANTOR_OF)
    Relationship.objects.create(
        from_party=other, to_party=sub, kind=RelationshipKind.SUPPLIER_OF
    )  # not a group link
    bank.application(borrower=sub, status=Status.OFFER_ISSUED, facilities=[("term_loan", "100000", "USD")])
    bank.application(
        borrower=sister, status=Status.APPROVED, facilities=[("working_capital", "20000", "EUR")]
    )
    bank.application(borrower=sister, status=Status.DRAFT, facilities=[("working_capital", "999999", "CNY")])
    bank.application(borrower=sub, status=Status.DECLINED, facilities=[("working_capital", "999999", "CNY")])
    bank.application(
        borrower=other, status=Status.APPROVED, facilities=[("working_capital", "999999", "CNY")]
    )
    this = bank.application(facilities=[("working_capital", "300000", "CNY"), ("term_loan", "1000", "HKD")])

    exposure = authority.group_exposure(this)

    assert exposure.currency == "CNY"
    assert exposure.existing == Decimal("710000.00") + Decimal("154000.00")  # USD 7.10, EUR 7.70
    assert exposure.requested == Decimal("300910.00")  # HKD 0.91
    assert exposure.total == Decimal("1164910.00")
    assert (exposure.member_count, exposure.members) == (None, ())  # size and members only for a viewer
    assert authority.group_exposure(this, viewer=bank.rm).member_count == 3


def test_exposure_members_hide_parties_outside_the_viewers_scope(
    bank: CreditBank, rm_b: User, branch_b: Any
) -> None:
    elsewhere = make_party(branch_b, "Beijing Secret Holdings")
    Relationship.objects.create(from_party=elsewhere, to_party=bank.borrower, kind=RelationshipKind.PARENT_OF)
    bank.application(borrower=elsewhere, status=Status.APPROVED, facilities=[("term_loan", "2000000", "CNY")])
    this = bank.application()

    seen_by_rm = authority.group_exposure(this, viewer=bank.rm).members
    assert [(m.party_id, m.legal_name, m.restricted) for m in seen_by_rm] == [
        (bank.borrower.pk, bank.borrower.legal_name, False),
        (None, None, True),
    ]
    assert seen_by_rm[0].is_borrower
    assert seen_by_rm[0].requested == Decimal("500000.00")
    assert seen_by_rm[1].existing == Decimal("2000000.00")  # the figure counts; the name does not show
    by_approver = authority.group_exposure(this, viewer=bank.approvers["regional_head"]).members
    assert by_approver[1].legal_name == "Beijing Secret Holdings"


def test_an_unknown_currency_is_refused_not_guessed(bank: CreditBank) -> None:
    this = bank.application(facilities=[("working_capital", "1000", "CHF")], route=False)
    with pytest.raises(errors.Conflict) as caught:
        authority.group_exposure(this)
    assert caught.value.code == "no_fx_rate"


# --- routing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("facilities", "grade", "expected"),
    [
        ([("working_capital", "500000", "CNY")], 4, "rm"),
        ([("working_capital", "1000000", "CNY")], 4, "rm"),  # the limit is inclusive
        ([("working_capital", "1000000.01", "CNY")], 4, "branch_credit_officer"),
        ([("working_capital", "500000", "CNY")], 5, "branch_credit_officer"),  # grade worse than 4
        ([("green_loan", "500000", "CNY")], 4, "branch_credit_officer"),  # rm may not do green loans
        ([("project_finance", "500000", "CNY")], 4, "regional_head"),  # nor the branch officer
        ([("working_capital", "500000", "CNY")], 7, "regional_head"),
        ([("term_loan", "10000000", "USD")], 4, "head_office_credit"),  # 71M CNY
        ([("term_loan", "50000000", "USD")], 4, "credit_committee"),  # 355M CNY
        ([("working_capital", "500000", "CNY")], 9, "credit_committee"),
    ],
)
def test_routing_picks_the_lowest_level_that_covers(
    bank: CreditBank, facilities: list[tuple[str, str, str]], grade: int, expected: str
) -> None:
    application = bank.application(facilities=facilities, grade=grade)
    application.refresh_from_db()
    assert application.required_level is not None
    assert application.required_level.slug == expected


def test_routing_counts_the_group(bank: CreditBank) -> None:
    member = make_party(bank.branch)
    Relationship.objects.create(
        from_party=member, to_party=bank.borrower, kind=RelationshipKind.MEMBER_OF_GROUP
    )
    bank.application(
        borrower=member, status=Status.APPROVED, facilities=[("working_capital", "600000", "CNY")]
    )
    application = bank.application(facilities=[("working_capital", "500000", "CNY")])
    application.refresh_from_db()
    assert application.required_level.slug == "branch_credit_officer"  # 1.1M for the group


def test_routing_needs_a_graded_memo(bank: CreditBank) -> None:
    application = bank.application(route=False)
    application.memo.risk_grade = None
    application.memo.save()
    with pytest.raises(errors.Conflict) as caught, transaction.atomic():
        authority.route_application(application)
    assert caught.value.code == "risk_grade_missing"


# --- the authority check ----------------------------------------------------------------------------
def test_an_approver_within_authority_passes_at_the_lowest_level_they_hold(bank: CreditBank) -> None:
    application = bank.application()
    officer = bank.approvers["branch_credit_officer"]
    delegate(officer, "regional_head")
    level, matrix, exposure = _check(officer, application)
    assert (level.slug, matrix.number, exposure.total) == ("branch_credit_officer", 1, Decimal("500000.00"))


@pytest.mark.parametrize("who", ["owner", "analyst", "editor"])
def test_the_maker_can_never_approve(bank: CreditBank, who: str) -> None:
    editor = bank.approvers["head_office_credit"]
    application = bank.application(editors=[editor])
    maker = {"owner": bank.rm, "analyst": bank.analyst, "editor": editor}[who]
    delegate(maker, "regional_head") if who != "editor" else None
    assert _refused(maker, application) == "maker_cannot_approve"


def test_no_expired_revoked_or_future_delegation(bank: CreditBank) -> None:
    application = bank.application()
    nobody = bank.make_user("nobody", Role.CREDIT_APPROVER)
    assert _refused(nobody, application) == "no_delegation"
    today = timezone.localdate()
    delegate(nobody, "head_office_credit", start=today - timedelta(days=400), days=365)
    delegate(nobody, "head_office_credit", start=today + timedelta(days=1))
    assert _refused(nobody, application) == "delegation_expired"
    revoked = bank.make_user("revoked", Role.CREDIT_APPROVER)
    delegate(revoked, "head_office_credit", revoked=True)
    assert _refused(revoked, application) == "delegation_revoked"


def test_a_delegation_is_in_force_on_its_first_and_last_day(bank: CreditBank) -> None:
    application = bank.application()
    today = timezone.localdate()
    first = bank.make_user("first", Role.CREDIT_APPROVER)
    delegate(first, "rm", start=today, days=10)
    last = bank.make_user("last", Role.CREDIT_APPROVER)
    delegate(last, "rm", start=today - timedelta(days=10), days=10)
    assert _check(first, application)[0].slug == "rm"
    assert _check(last, application)[0].slug == "rm"


def test_a_lower_level_is_beyond_authority(bank: CreditBank) -> None:
    application = bank.application(grade=6)  # branch credit officer
    assert _refused(bank.approvers["rm"], application) == "beyond_authority"
    assert _check(bank.approvers["branch_credit_officer"], application)[0].slug == "branch_credit_officer"


def test_authority_is_judged_on_the_state_at_approval_time(bank: CreditBank) -> None:
    application = bank.application(facilities=[("working_capital", "800000", "CNY")])
    application.refresh_from_db()
    assert application.required_level.slug == "rm"
    # After routing, another group member's facility is approved: the group now needs a higher level.
    member = make_party(bank.branch)
    Relationship.objects.create(from_party=bank.borrower, to_party=member, kind=RelationshipKind.PARENT_OF)
    bank.application(
        borrower=member, status=Status.APPROVED, facilities=[("working_capital", "300000", "CNY")]
    )
    assert _refused(bank.approvers["rm"], application) == "beyond_authority"
    assert _check(bank.approvers["branch_credit_officer"], application)[2].total == Decimal("1100000.00")
    # And the grade got worse.
    set_grade(application, 7)
    assert _refused(bank.approvers["branch_credit_officer"], application) == "beyond_authority"


def test_a_referral_keeps_the_higher_level_although_routing_now_says_lower(bank: CreditBank) -> None:
    application = bank.application()
    Application.objects.filter(pk=application.pk).update(
        required_level=authority.AuthorityLevel.objects.get(slug="regional_head")
    )
    assert _refused(bank.approvers["branch_credit_officer"], application) == "beyond_authority"
    assert _check(bank.approvers["regional_head"], application)[0].slug == "regional_head"


def test_a_level_whose_limit_excludes_the_product_is_beyond_authority(bank: CreditBank) -> None:
    application = bank.application(facilities=[("green_loan", "500000", "CNY")])
    rm_level_only = bank.approvers["rm"]
    delegate(rm_level_only, "rm", start=timezone.localdate() - timedelta(days=1))
    assert _refused(rm_level_only, application) == "beyond_authority"


def test_committee_applications_need_a_committee_delegation(bank: CreditBank) -> None:
    application = bank.application(grade=9)
    assert _refused(bank.approvers["head_office_credit"], application) == "beyond_authority"
    assert _check(bank.committee[0], application)[0].slug == "credit_committee"


def test_a_committee_member_alone_does_not_decide_below_the_committee(bank: CreditBank) -> None:
    application = bank.application()
    assert _refused(bank.committee[0], application) == "beyond_authority"


# --- constant queries -----------------------------------------------------------------------------
def _queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_exposure_routing_and_check_take_the_same_queries_for_10_or_1001_parties(bank: CreditBank) -> None:
    viewer = bank.approvers["head_office_credit"]
    assert viewer.role_slugs  # read once per user object, like a request's user
    counts = []
    for size in (9, 1000):
        head = make_party(bank.branch)
        members = connect_group(head, size)
        for member in members[:: max(1, size // 5)]:
            bank.application(
                borrower=member, status=Status.APPROVED, facilities=[("term_loan", "1000", "USD")]
            )
        application = bank.application(borrower=head)
        application.refresh_from_db()
        assert authority.group_exposure(application, viewer=viewer).member_count == size + 1

        def route(application: Application = application) -> None:
            with transaction.atomic():
                authority.route_application(application)

        counts.append(
            (
                _queries(partial(authority.group_exposure, application)),
                _queries(partial(authority.group_exposure, application, viewer=viewer)),
                _queries(route),
                _queries(partial(_check, viewer, application)),
            )
        )
    assert counts[0] == counts[1], counts
    assert counts[0][:2] == (1, 3)


# --- the queue ------------------------------------------------------------------------------------
def test_the_queue_lists_what_the_viewer_can_decide_oldest_first(bank: CreditBank, rm_b: User) -> None:
    small = bank.application()  # rm level
    medium = bank.application(grade=6)  # branch credit officer
    large = bank.application(grade=9)  # committee
    Application.objects.filter(pk=small.pk).update(status_entered_at=timezone.now() - timedelta(days=5))
    officer = bank.approvers["branch_credit_officer"]

    assert [a.pk for a in authority.decision_queue(officer)] == [small.pk, medium.pk]
    assert [a.overdue for a in authority.decision_queue(officer)] == [True, False]  # 48 h target
    assert [a.pk for a in authority.decision_queue(bank.approvers["rm"])] == [small.pk]
    assert [a.pk for a in authority.decision_queue(bank.committee[0])] == [large.pk]
    assert list(authority.decision_queue(bank.rm)) == []  # no delegation, and the maker
    delegate(bank.analyst, "head_office_credit")
    assert list(authority.decision_queue(bank.analyst)) == []  # analysed them all
    delegate(rm_b, "rm")
    assert list(authority.decision_queue(rm_b)) == []  # another branch's borrowers
