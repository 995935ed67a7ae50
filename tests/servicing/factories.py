"""Booked facilities for any test that needs one: `booked_facility(...)` walks a new application to ready to
disburse through the origination services (the decision stood in for by `workflow.move`, as the origination
fixtures do), books it through `book_application` and pays out a drawdown through `draw`.

Plain functions, usable from any test with database access (`db` fixture or `django_db` mark); the staff
they need are made once per test database under `bk_*` usernames."""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from lendcrm.core import services as core_services
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application, PartyRole, Status
from lendcrm.parties.models import Coverage, Party, PartyKind
from lendcrm.servicing.models import Drawdown, Facility
from lendcrm.servicing.services import book_application, draw
from tests.origination.conftest import AppFactory
from tests.origination.conftest import facility as facility_terms

START = date(2026, 1, 15)
PRODUCT_OF_KIND = {
    "term": "term_loan",
    "revolving": "revolving_facility",
    "project_finance": "project_finance",
    "guarantee": "guarantee",
}


def branch() -> Branch:
    """The branch the factory's borrowers are booked at (made once)."""
    found = Branch.objects.filter(code="BK01").first()
    return found or core_services.create_branch(
        actor=None, code="BK01", name="Lujiazui Lending Centre", local_name="陆家嘴授信中心"
    )


def other_branch() -> Branch:
    """A second branch, whose relationship managers do not see the factory's borrowers."""
    found = Branch.objects.filter(code="BK02").first()
    return found or core_services.create_branch(
        actor=None, code="BK02", name="Harbin Songbei", local_name="哈尔滨松北支行"
    )


def staff(username: str, role: str, *, at: Branch | None = None) -> User:
    """A member of staff with one role, made the first time it is asked for."""
    found = User.objects.filter(username=username).first()
    return found or core_services.create_user(
        actor=None,
        username=username,
        roles=(role,),
        branch=at or branch(),
        password="Correct-Horse-Battery-9",
    )


def ops() -> User:
    """Loan operations: books facilities and pays out drawdowns."""
    return staff("bk_ops", Role.LOAN_OPERATIONS)


def relationship_manager() -> User:
    return staff("bk_rm", Role.RELATIONSHIP_MANAGER)


def borrower_party(name: str = "Lingang Turbine Works", *, kind: str = PartyKind.CORPORATE) -> Party:
    """A new borrower at the factory's branch, covered by the factory's RM."""
    party = Party.objects.create(kind=kind, legal_name=name, branch=branch())
    Coverage.objects.create(party=party, user=relationship_manager(), role="lead")
    return party


class _GradedFactory(AppFactory):
    """The origination test factory with the memo's grade chosen."""

    grade = 4

    def write_memo(self, application: Application, *, grade: int = 4) -> None:
        super().write_memo(application, grade=self.grade)


def ready_application(
    *,
    borrower: Party,
    facilities: Sequence[Mapping[str, Any]],
    guarantors: Sequence[Party] = (),
    grade: int = 4,
) -> Application:
    """A new application of `borrower` in ready to disburse, its memo graded `grade`."""
    # A credit analyst is a customer writer who sees the whole book: the maker for a borrower anywhere.
    maker = staff("bk_maker", Role.CREDIT_ANALYST)
    analyst = staff("bk_analyst", Role.CREDIT_ANALYST)
    approver = staff("bk_approver", Role.CREDIT_APPROVER)
    factory = _GradedFactory(maker, analyst, approver, borrower)
    factory.grade = grade
    parties = [{"party": g.pk, "role": PartyRole.GUARANTOR} for g in guarantors]
    application = factory.at(
        Status.READY_TO_DISBURSE, facilities=[dict(f) for f in facilities], parties=parties
    )
    assert application.status == Status.READY_TO_DISBURSE
    return application


def booked_facility(
    *,
    borrower: Party | None = None,
    amount: Decimal = Decimal("1000000.00"),
    currency: str = "CNY",
    kind: str = "term",
    profile: str = "annuity",
    tenor_months: int = 24,
    rate_pct: Decimal = Decimal("4.35"),
    frequency_months: int = 1,
    day_count: str = "act_360",
    start_date: date = START,
    drawn: bool = True,
    draw_amount: Decimal | None = None,
    grace_months: int = 0,
    balloon_amount: Decimal | None = None,
    guarantors: Sequence[Party] = (),
    grade: int = 4,
    terms: Mapping[str, Any] | None = None,
    booking: Mapping[str, Any] | None = None,
    actor: User | None = None,
) -> Facility:
    """One facility booked on `start_date` (default 2026-01-15) and, with `drawn`, drawn on that day —
    the whole limit unless `draw_amount` says less. `profile` may be "sculpted" (project finance: pass
    `booking={"target_dscr": …, "cfads": [...]}`); `terms` overrides the approved terms (e.g. a floating
    rate), `booking` adds booking fields (construction_end, availability_end, business_day_rule, monitor,
    grace_kind, base_rate_pct, …). Returns the facility as stored."""
    borrower = borrower or borrower_party()
    approved = facility_terms(
        product=PRODUCT_OF_KIND[kind],
        amount=amount,
        currency=currency,
        tenor_months=tenor_months,
        repayment_profile="custom" if profile == "sculpted" else profile,
        fixed_rate_pct=rate_pct,
        grace_months=grace_months,
    )
    if balloon_amount is not None:
        approved["balloon_amount"] = balloon_amount
    approved.update(terms or {})
    application = ready_application(
        borrower=borrower, facilities=[approved], guarantors=guarantors, grade=grade
    )
    entry = {
        "application_facility": application.facilities.get().pk,
        "kind": kind,
        "profile": profile,
        "frequency_months": frequency_months,
        "day_count": day_count,
        **(booking or {}),
    }
    actor = actor or ops()
    [booked] = book_application(
        actor=actor, application_id=application.pk, start_date=start_date, facilities=[entry]
    )
    if drawn and kind != "guarantee":
        draw_facility(booked, draw_amount or amount, start_date, actor=actor)
    return Facility.objects.get(pk=booked.pk)


def draw_facility(
    facility: Facility, amount: Decimal, value_date: date, *, reference: str = "", actor: User | None = None
) -> Drawdown:
    """Pay out `amount` on `value_date` as loan operations (reference DD-<n> by default)."""
    reference = reference or f"DD-{facility.drawdowns.count() + 1}"
    return draw(
        actor=actor or ops(),
        facility_id=facility.pk,
        amount=amount,
        value_date=value_date,
        reference=reference,
    )
