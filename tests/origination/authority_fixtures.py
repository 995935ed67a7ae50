"""A small credit bank for authority tests: staff with delegations at every level, borrowers with groups,
and applications put straight into the state a test needs (rows written directly, so hundreds of
Hypothesis examples stay fast; the services under test are the ones that read and decide)."""

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from lendcrm.core import services as core_services
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination import authority
from lendcrm.origination.models import (
    Application,
    ApplicationFacility,
    ApplicationParty,
    AuthorityLevel,
    CreditMemo,
    Delegation,
    MemoRevision,
    PartyRole,
    RiskGrade,
    Status,
)
from lendcrm.parties.models import Party, PartyKind, Relationship, RelationshipKind
from lendcrm.pipeline.models import Product

_serial = itertools.count(1)


def level(slug: str) -> AuthorityLevel:
    return AuthorityLevel.objects.get(slug=slug)


def product(code: str) -> Product:
    return Product.objects.get(code=code)


def make_party(branch: Branch, name: str = "") -> Party:
    return Party.objects.create(
        kind=PartyKind.CORPORATE, legal_name=name or f"Borrower {next(_serial)}", branch=branch
    )


def connect_group(head: Party, size: int, *, kind: str = RelationshipKind.MEMBER_OF_GROUP) -> list[Party]:
    """`size` more parties linked to `head` in a chain of `kind` edges (the deepest walk the closure
    can meet), in bulk."""
    members = Party.objects.bulk_create(
        [
            Party(kind=PartyKind.CORPORATE, legal_name=f"Member {next(_serial)}", branch_id=head.branch_id)
            for _ in range(size)
        ]
    )
    chain = [head, *members]
    Relationship.objects.bulk_create(
        [Relationship(from_party=b, to_party=a, kind=kind) for a, b in itertools.pairwise(chain)]
    )
    return members


def delegate(
    user: User, slug: str, *, days: int = 365, start: date | None = None, revoked: bool = False
) -> Delegation:
    start = start or timezone.localdate() - timedelta(days=30)
    return Delegation.objects.create(
        user=user,
        level=level(slug),
        valid_from=start,
        expires_on=start + timedelta(days=days),
        revoked_at=timezone.now() if revoked else None,
    )


def make_application(
    *,
    borrower: Party,
    owner: User,
    analyst: User | None,
    facilities: Iterable[tuple[str, Decimal | str | int, str]] = (("working_capital", "500000", "CNY"),),
    grade: int = 4,
    status: str = Status.PENDING_DECISION,
    editors: Sequence[User] = (),
    route: bool = True,
) -> Application:
    """An application in `status` with its facilities and a completed memo at `grade` (saved by the analyst
    and `editors`); routed when it awaits a decision."""
    now = timezone.now()
    application = Application.objects.create(
        reference=f"APP-T-{next(_serial):06d}",
        borrower=borrower,
        branch_id=borrower.branch_id,
        status=status,
        status_entered_at=now,
        owner=owner,
        analyst=analyst,
    )
    ApplicationParty.objects.create(application=application, party=borrower, role=PartyRole.BORROWER)
    for position, (code, amount, currency) in enumerate(facilities):
        ApplicationFacility.objects.create(
            application=application,
            product=product(code),
            amount=Decimal(str(amount)),
            currency=currency,
            tenor_months=36,
            repayment_profile="annuity",
            rate_type="fixed",
            fixed_rate_pct=Decimal("4.35"),
            lgd=Decimal("0.40"),
            position=position,
        )
    memo_maker = analyst or owner
    memo = CreditMemo.objects.create(
        application=application,
        analyst=memo_maker,
        risk_grade=RiskGrade.objects.get(grade=grade),
        completed_at=now,
    )
    for version, editor in enumerate([memo_maker, *editors], start=1):
        MemoRevision.objects.create(memo=memo, version=version, content={}, saved_at=now, saved_by=editor)
    if len(editors):
        CreditMemo.objects.filter(pk=memo.pk).update(version=len(editors) + 1)
    if route and status in (Status.PENDING_DECISION, Status.REFERRED_UP):
        with transaction.atomic():
            authority.route_application(application)
    return application


def set_grade(application: Application, grade: int) -> None:
    CreditMemo.objects.filter(application=application).update(risk_grade=RiskGrade.objects.get(grade=grade))


@dataclass
class CreditBank:
    """Staff of a bank configured with the default matrix (v1) and a delegation at every level."""

    branch: Branch
    rm: User
    analyst: User
    approvers: dict[str, User]
    committee: list[User]
    borrower: Party
    make_user: Callable[..., User]
    extra: dict[str, Any] = field(default_factory=dict)

    def application(self, **kwargs: Any) -> Application:
        kwargs.setdefault("borrower", self.borrower)
        kwargs.setdefault("owner", self.rm)
        kwargs.setdefault("analyst", self.analyst)
        return make_application(**kwargs)


@pytest.fixture(name="bank")
def bank_fixture(make_user: Callable[..., User], branch_a: Branch) -> CreditBank:
    rm = make_user("rm.maker", Role.RELATIONSHIP_MANAGER)
    analyst = make_user("analyst.maker", Role.CREDIT_ANALYST)
    approvers = {}
    for slug in ("rm", "branch_credit_officer", "regional_head", "head_office_credit"):
        roles = (Role.RELATIONSHIP_MANAGER,) if slug == "rm" else (Role.CREDIT_APPROVER,)
        user = make_user(f"approver.{slug}", *roles)
        delegate(user, slug)
        approvers[slug] = user
    committee = []
    for index in range(4):
        member = make_user(f"committee.{index}", Role.COMMITTEE_MEMBER)
        delegate(member, "credit_committee")
        committee.append(member)
    return CreditBank(
        branch=branch_a,
        rm=rm,
        analyst=analyst,
        approvers=approvers,
        committee=committee,
        borrower=make_party(branch_a, "Pudong Precision Castings"),
        make_user=make_user,
    )


def new_user(username: str, *roles: str, branch: Branch | None = None) -> User:
    return core_services.create_user(actor=None, username=username, roles=roles, branch=branch)
