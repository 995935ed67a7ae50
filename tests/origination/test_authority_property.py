"""Property tests of delegated authority against a brute-force oracle written from the generated data alone.

Over random matrices (levels, limits, worst grades, product restrictions), random groups with existing
approved applications (and parties that are linked but not connected), grades, referrals, exposure that
moves after routing, and users holding valid, expired, future, revoked or wrong-level delegations — the
maker among them:
* routing picks the lowest level whose limit covers the group total, grade and products (else the top);
* the authority check accepts exactly the users the oracle accepts, at the lowest usable level;
* a decision is accepted only then, and records a level whose limit covers the state at approval time;
* committee votes decide at quorum by majority (abstentions count to quorum only; a tie declines), with
  every vote and its dissent kept.
Each example runs in a transaction that is rolled back, so examples do not see each other's rows."""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import authority
from lendcrm.origination.models import (
    Application,
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    CommitteeVote,
    Decision,
    MatrixStatus,
    Outcome,
    Status,
    Vote,
)
from lendcrm.origination.services import decisions
from lendcrm.parties.models import Relationship, RelationshipKind
from tests.origination.authority_fixtures import (
    CreditBank,
    bank_fixture,  # noqa: F401 (the `bank` fixture)
    delegate,
    make_party,
    product,
)

pytestmark = pytest.mark.django_db

PRODUCTS = ("working_capital", "term_loan", "green_loan", "project_finance")
SLUGS = ("rm", "branch_credit_officer", "regional_head", "head_office_credit", "credit_committee")
AMOUNTS = (100_000, 400_000, 1_000_000, 3_000_000, 20_000_000)
LIMITS = (None, 500_000, 1_000_000, 5_000_000, 30_000_000, 200_000_000)
COUNTED = (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.OFFER_ACCEPTED, Status.READY_TO_DISBURSE)
NOT_COUNTED = (Status.DRAFT, Status.DECLINED, Status.WITHDRAWN, Status.PENDING_DECISION)
CONNECTING = (
    RelationshipKind.PARENT_OF,
    RelationshipKind.MEMBER_OF_GROUP,
    RelationshipKind.SPONSOR_OF,
    RelationshipKind.GUARANTOR_OF,
)
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


# --- what is generated ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LimitSpec:
    slug: str
    maximum: int | None
    worst: int
    products: frozenset[str]


@dataclass(frozen=True)
class Facility:
    product: str
    amount: int
    currency: str


@dataclass(frozen=True)
class MemberSpec:
    kind: str  # how it links to the group (a non-connecting kind: it is not part of the group)
    applications: tuple[tuple[str, Facility], ...]  # (status, facility)


@dataclass(frozen=True)
class DelegationSpec:
    slug: str
    state: str  # valid, expired, future, revoked


@dataclass(frozen=True)
class Case:
    limits: tuple[LimitSpec, ...]
    members: tuple[MemberSpec, ...]
    facilities: tuple[Facility, ...]
    grade: int
    referral: str | None  # a level stored on the application (a referral up), or None
    late: Facility | None  # approved for the first member after routing
    delegations: tuple[tuple[DelegationSpec, ...], ...]  # per user of the pool
    makers: frozenset[int]  # indices of pool users who edited the memo
    actor: int


facilities = st.builds(
    Facility,
    product=st.sampled_from(PRODUCTS),
    amount=st.sampled_from(AMOUNTS),
    currency=st.sampled_from(("CNY", "USD", "EUR")),
)
limit_specs = st.builds(
    LimitSpec,
    slug=st.just(""),
    maximum=st.sampled_from(LIMITS),
    worst=st.integers(1, 10),
    products=st.frozensets(st.sampled_from(PRODUCTS), max_size=3),
)
members = st.builds(
    MemberSpec,
    kind=st.sampled_from((*CONNECTING, RelationshipKind.SUPPLIER_OF)),
    applications=st.lists(st.tuples(st.sampled_from(COUNTED + NOT_COUNTED), facilities), max_size=2).map(
        tuple
    ),
)
delegation_specs = st.builds(
    DelegationSpec,
    slug=st.sampled_from(SLUGS),
    state=st.sampled_from(("valid", "valid", "expired", "future", "revoked")),
)
POOL = 5  # approvers; index POOL is the application's RM and POOL + 1 its analyst


@st.composite
def cases(draw: Any) -> Case:
    chosen = draw(st.lists(st.sampled_from(SLUGS), min_size=1, max_size=5, unique=True))
    limits = tuple(
        LimitSpec(slug, spec.maximum, spec.worst, spec.products)
        for slug, spec in zip(
            sorted(chosen, key=SLUGS.index), draw(st.lists(limit_specs, min_size=5, max_size=5)), strict=False
        )
    )
    return Case(
        limits=limits,
        members=tuple(draw(st.lists(members, max_size=4))),
        facilities=tuple(draw(st.lists(facilities, min_size=1, max_size=2))),
        grade=draw(st.integers(1, 10)),
        referral=draw(st.none() | st.sampled_from(SLUGS)),
        late=draw(st.none() | facilities),
        delegations=tuple(tuple(draw(st.lists(delegation_specs, max_size=2))) for _ in range(POOL + 2)),
        makers=draw(st.frozensets(st.integers(0, POOL - 1), max_size=1)),
        actor=draw(st.integers(0, POOL + 1)),
    )


# --- the oracle -----------------------------------------------------------------------------------
def in_base(f: Facility) -> Decimal:
    return Decimal(f.amount) * Decimal(django_settings.LENDCRM_FX_TO_BASE[f.currency])


def group_total(case: Case, *, late: bool) -> Decimal:
    total = sum((in_base(f) for f in case.facilities), Decimal(0))
    for member in case.members:
        if member.kind not in CONNECTING:
            continue
        total += sum((in_base(f) for status, f in member.applications if status in COUNTED), Decimal(0))
    if late and case.late is not None and any(m.kind in CONNECTING for m in case.members):
        total += in_base(case.late)
    return total


def covers(limit: LimitSpec, total: Decimal, case: Case) -> bool:
    wanted = {f.product for f in case.facilities}
    return (
        (limit.maximum is None or total <= limit.maximum)
        and case.grade <= limit.worst
        and (not limit.products or wanted <= limit.products)
    )


def lowest_capable(case: Case, total: Decimal) -> str:
    ordered = sorted(case.limits, key=lambda lim: SLUGS.index(lim.slug))
    return next((lim.slug for lim in ordered if covers(lim, total, case)), ordered[-1].slug)


def required(case: Case, total: Decimal) -> str:
    routed = lowest_capable(case, total)
    if case.referral is not None and SLUGS.index(case.referral) > SLUGS.index(routed):
        return case.referral
    return routed


def usable_level(case: Case, user: int, total: Decimal) -> str | None:
    """The level the oracle lets `user` act at now (None: refused)."""
    if user >= POOL or user in case.makers:
        return None
    need = required(case, total)
    committee = need == "credit_committee"
    limits = {lim.slug: lim for lim in case.limits}
    found = [
        d.slug
        for d in case.delegations[user]
        if d.state == "valid"
        and (d.slug == "credit_committee") == committee
        and SLUGS.index(d.slug) >= SLUGS.index(need)
        and d.slug in limits
        and covers(limits[d.slug], total, case)
    ]
    return min(found, key=SLUGS.index) if found else None


# --- building the case in the database ------------------------------------------------------------
@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


_serial = itertools.count(1)


def _dates(state: str, today: date) -> tuple[date, date, bool]:
    return {
        "valid": (today - timedelta(days=10), today + timedelta(days=10), False),
        "expired": (today - timedelta(days=40), today - timedelta(days=1), False),
        "future": (today + timedelta(days=1), today + timedelta(days=40), False),
        "revoked": (today - timedelta(days=10), today + timedelta(days=10), True),
    }[state]


def build(bank: CreditBank, pool: list[User], case: Case) -> Application:
    AuthorityMatrix.objects.filter(status=MatrixStatus.ACTIVE).update(status=MatrixStatus.RETIRED)
    matrix = AuthorityMatrix.objects.create(number=1000 + next(_serial), status=MatrixStatus.ACTIVE)
    for spec in case.limits:
        limit = AuthorityLimit.objects.create(
            matrix=matrix,
            level=AuthorityLevel.objects.get(slug=spec.slug),
            max_group_exposure=spec.maximum,
            worst_grade=spec.worst,
        )
        limit.products.set([product(code) for code in spec.products])
    borrower = make_party(bank.branch)
    previous = borrower
    for spec in case.members:
        member = make_party(bank.branch)
        Relationship.objects.create(from_party=member, to_party=previous, kind=spec.kind)
        if spec.kind in CONNECTING:
            previous = member  # a chain; a supplier hangs off it without joining
        for status, f in spec.applications:
            bank.application(
                borrower=member, status=status, facilities=[(f.product, f.amount, f.currency)], route=False
            )
    today = timezone.localdate()
    users = [*pool, bank.rm, bank.analyst]
    for user, specs in zip(users, case.delegations, strict=True):
        for spec in specs:
            start, end, revoked = _dates(spec.state, today)
            delegate(user, spec.slug, start=start, days=(end - start).days, revoked=revoked)
    application = bank.application(
        borrower=borrower,
        facilities=[(f.product, f.amount, f.currency) for f in case.facilities],
        grade=case.grade,
        editors=[pool[i] for i in sorted(case.makers)],
    )
    if case.referral is not None:
        Application.objects.filter(pk=application.pk).update(
            required_level=AuthorityLevel.objects.get(slug=case.referral)
        )
    connected = [m for m in case.members if m.kind in CONNECTING]
    if case.late is not None and connected:
        first = (
            Relationship.objects.filter(to_party=borrower)
            .exclude(kind=RelationshipKind.SUPPLIER_OF)
            .get()
            .from_party
        )
        late = case.late
        bank.application(
            borrower=first,
            status=Status.APPROVED,
            facilities=[(late.product, late.amount, late.currency)],
            route=False,
        )
    return application


@pytest.fixture
def pool(make_user: Any) -> list[User]:
    return [make_user(f"pool.{i}", Role.CREDIT_APPROVER, Role.COMMITTEE_MEMBER) for i in range(POOL)]


# --- properties -----------------------------------------------------------------------------------
@PROPERTY
@given(case=cases())
def test_routing_is_the_lowest_capable_level(bank: CreditBank, pool: list[User], case: Case) -> None:
    with rolled_back():
        application = build(bank, pool, replace(case, late=None, referral=None))
        application.refresh_from_db()
        assert application.required_level is not None
        assert application.required_level.slug == lowest_capable(case, group_total(case, late=False))


@PROPERTY
@given(case=cases())
def test_no_decision_beyond_authority_by_the_maker_or_out_of_date(
    bank: CreditBank, pool: list[User], case: Case
) -> None:
    with rolled_back():
        application = build(bank, pool, case)
        total = group_total(case, late=True)
        users = [*pool, bank.rm, bank.analyst]
        for index, user in enumerate(users):
            application.refresh_from_db()
            expected = usable_level(case, index, total)
            try:
                level, _matrix, exposure = authority.check_authority(approver=user, application=application)
            except errors.PermissionDenied:
                assert expected is None, (index, case)
                continue
            assert (level.slug, exposure.total) == (expected, total), (index, case)

        actor = users[case.actor]
        expected = usable_level(case, case.actor, total)
        committee = required(case, total) == "credit_committee"
        try:
            if committee:
                decisions.cast_vote(actor=actor, application_id=application.pk, vote=Vote.APPROVE)
            else:
                decisions.decide(actor=actor, application_id=application.pk, outcome=Outcome.APPROVED)
        except errors.PermissionDenied:
            assert expected is None
            assert not Decision.objects.filter(application=application).exists()
            assert not CommitteeVote.objects.filter(application=application).exists()
            return
        assert expected is not None
        decision = Decision.objects.filter(application=application).first()
        if committee:
            assert CommitteeVote.objects.filter(application=application, member=actor).exists()
            quorum = AuthorityLevel.objects.get(slug="credit_committee").quorum
            assert (decision is not None) == (quorum == 1)
            return
        assert decision is not None
        limits = {lim.slug: lim for lim in case.limits}
        assert decision.level.slug == expected
        assert covers(limits[decision.level.slug], decision.group_exposure, case)
        assert (decision.group_exposure, decision.risk_grade, decision.decided_by) == (
            total,
            case.grade,
            actor,
        )


VOTES = st.lists(st.sampled_from(tuple(Vote)), min_size=1, max_size=5)


@PROPERTY
@given(quorum=st.integers(1, 4), votes=VOTES)
def test_committee_quorum_majority_and_dissent(
    bank: CreditBank, pool: list[User], quorum: int, votes: list[str]
) -> None:
    with rolled_back():
        AuthorityLevel.objects.filter(slug="credit_committee").update(quorum=quorum)
        for user in pool:
            delegate(user, "credit_committee")
        application = bank.application(grade=10)
        for index, vote in enumerate(votes):
            comment = (
                f"dissent {index}"
                if vote == Vote.DECLINE
                else ("cond" if vote == Vote.APPROVE_WITH_CONDITIONS else "")
            )
            cast = {"actor": pool[index], "application_id": application.pk, "vote": vote, "comment": comment}
            if index < quorum:
                decisions.cast_vote(**cast)
                continue
            with pytest.raises(errors.Conflict) as late:  # the quorum has decided
                decisions.cast_vote(**cast)
            assert late.value.code == "not_awaiting_decision"
        counted = votes[:quorum]
        decision = Decision.objects.filter(application=application).first()
        if len(votes) < quorum:
            assert decision is None
            assert CommitteeVote.objects.filter(application=application).count() == len(votes)
            return
        approving = sum(1 for v in counted if v in (Vote.APPROVE, Vote.APPROVE_WITH_CONDITIONS))
        declining = counted.count(Vote.DECLINE)
        expected = Outcome.DECLINED
        if approving > declining:
            with_conditions = Vote.APPROVE_WITH_CONDITIONS in counted
            expected = Outcome.APPROVED_WITH_CONDITIONS if with_conditions else Outcome.APPROVED
        assert decision is not None
        assert (decision.outcome, decision.decided_by) == (expected, pool[quorum - 1])
        kept = list(
            CommitteeVote.objects.filter(application=application)
            .order_by("id")
            .values_list("vote", "comment")
        )
        assert [v for v, _c in kept] == counted
        assert all(c.startswith("dissent") for v, c in kept if v == Vote.DECLINE)
