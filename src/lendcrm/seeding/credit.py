"""Demo credit work: delegated authority for the demo approvers and committee, and a small pipeline
for the demo RM (leads, opportunities in every stage, a term sheet, applications waiting on the
analyst, on a decision and on the customer). Unlike the bulk seed it goes through the services, so
every row is validated and audited exactly as if the demo staff had typed it."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application, AuthorityLevel, Delegation
from lendcrm.origination.services import applications, decisions, memo, offers, policy
from lendcrm.parties.models import Coverage, Party
from lendcrm.pipeline.models import OPEN_STAGES, Lead, Product, Stage
from lendcrm.pipeline.services import leads, opportunities, proposals

# Which level each demo login (and the seeded head-office staff) may decide at.
DEMO_AUTHORITY = {"approver": "head_office_credit", "rm": "rm", "committee": "credit_committee"}
SEEDED_AUTHORITY = {Role.CREDIT_APPROVER: "regional_head", Role.COMMITTEE_MEMBER: "credit_committee"}


def grant_demo_authority(today: date) -> int:
    """A year's delegation for the demo approver, RM and committee, and for the seeded head-office
    approvers and committee members (so the committee has a quorum); returns how many were granted."""
    levels = {level.slug: level for level in AuthorityLevel.objects.all()}
    holders = set(Delegation.objects.values_list("user_id", "level_id"))
    wanted: list[tuple[User, AuthorityLevel]] = [
        (user, levels[DEMO_AUTHORITY[user.username]])
        for user in User.objects.filter(username__in=DEMO_AUTHORITY)
    ]
    for role, slug in SEEDED_AUTHORITY.items():
        seeded = User.objects.filter(role_grants__role=role, branch__is_head_office=True).exclude(
            username__in=DEMO_AUTHORITY
        )
        wanted += [(user, levels[slug]) for user in seeded.order_by("username")]
    granted = 0
    for user, level in wanted:
        if (user.pk, level.pk) in holders:
            continue
        policy.grant_delegation(
            actor=None,
            user_id=user.pk,
            level_id=level.pk,
            valid_from=today - timedelta(days=30),
            expires_on=today + timedelta(days=365),
        )
        granted += 1
    return granted


def _facility(product: str, amount: str, tenor: int, **terms: Any) -> dict[str, Any]:
    return {
        "product": product,
        "amount": Decimal(amount),
        "currency": "CNY",
        "tenor_months": tenor,
        "repayment_profile": terms.pop("repayment_profile", "annuity"),
        "rate_type": "floating",
        "base_rate": "lpr_1y",
        "margin_pct": Decimal(terms.pop("margin_pct", "0.85")),
        **terms,
    }


STATEMENT = {
    "revenue": "82000000",
    "cost_of_sales": "56000000",
    "operating_expenses": "11500000",
    "ebitda": "14500000",
    "depreciation": "3200000",
    "ebit": "11300000",
    "interest_expense": "1900000",
    "tax": "2300000",
    "net_income": "7100000",
    "current_assets": "31000000",
    "total_assets": "96000000",
    "current_liabilities": "19500000",
    "short_term_debt": "8000000",
    "long_term_debt": "26000000",
    "total_liabilities": "52000000",
    "equity": "44000000",
    "principal_repaid": "4500000",
}


def _analysed(rm: User, analyst: User, party: Party, amount: str, grade: int) -> Application:
    """An application taken through review and a completed memo, waiting for a decision."""
    application = applications.create_application(
        actor=rm,
        borrower_id=party.pk,
        purpose="Capacity expansion and working capital",
        facilities=[_facility("working_capital", amount, 24), _facility("term_loan", amount, 60)],
    )
    applications.transition(actor=rm, application_id=application.pk, to_status="submitted")
    for status in ("in_review", "credit_analysis"):
        applications.transition(actor=analyst, application_id=application.pk, to_status=status)
    year_end = date(timezone.localdate().year - 1, 12, 31)
    memo.save_statement(
        actor=analyst,
        party_id=party.pk,
        period_end=year_end,
        period_months=12,
        kind="audited",
        currency="CNY",
        lines={code: Decimal(value) for code, value in STATEMENT.items()},
    )
    memo.save_memo(
        actor=analyst,
        application_id=application.pk,
        changes={
            "risk_grade": grade,
            "grade_rationale": "Stable margins, moderate leverage, long relationship.",
            "business": "Established manufacturer with diversified domestic customers.",
            "financial_analysis": "Leverage 2.3x EBITDA, interest cover 5.9x.",
            "recommendation": "Approve as proposed.",
        },
    )
    memo.complete_memo(actor=analyst, application_id=application.pk)
    applications.transition(actor=analyst, application_id=application.pk, to_status="pending_decision")
    return application


def seed_demo_pipeline(*, rm: User, analyst: User, approver: User) -> bool:
    """The demo RM's pipeline, made once (returns False when leads already exist)."""
    if Lead.objects.exists():
        return False
    covered = list(
        Party.objects.filter(pk__in=Coverage.objects.filter(user=rm, role="lead").values("party_id"))
        .exclude(kind__in=("individual", "sole_trader"))
        .order_by("pk")[:8]
    )
    if len(covered) < 6:
        return False
    close = timezone.localdate() + timedelta(days=60)
    names = dict(Product.objects.values_list("code", "name"))
    with transaction.atomic():
        leads.create_lead(
            actor=rm,
            data={
                "source": "web_form",
                "name": "Hangzhou Lakeside Robotics Co., Ltd.",
                "party_kind": "sme",
                "local_name": "杭州湖畔机器人有限公司",
                "country": "CN",
                "requested_amount": Decimal("8000000"),
                "currency": "CNY",
                "product": "equipment_finance",
            },
        )
        leads.create_lead(
            actor=rm,
            data={
                "source": "referral",
                "source_detail": "Existing customer",
                "name": covered[0].legal_name,
                "party_kind": covered[0].kind,
                "country": covered[0].country or "CN",
            },
        )
        for party, stage, product, amount in zip(
            covered[:4],
            (Stage.QUALIFY, Stage.NEEDS_ANALYSIS, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL),
            ("working_capital", "trade_finance", "cash_management", "term_loan"),
            ("5000000", "12000000", "2000000", "30000000"),
            strict=True,
        ):
            opportunity = opportunities.create_opportunity(
                actor=rm,
                party_id=party.pk,
                data={
                    "title": f"{names[product]} for {party.short_name or party.legal_name}",
                    "products": [product],
                    "amount": Decimal(amount),
                    "currency": "CNY",
                    "expected_close": close,
                },
            )
            for step in OPEN_STAGES[1 : OPEN_STAGES.index(stage) + 1]:  # walk up to the stage, one move each
                opportunities.move_opportunity(actor=rm, opportunity_id=opportunity.pk, stage=step)
            if stage == Stage.PROPOSAL:
                proposal = proposals.create_proposal(
                    actor=rm,
                    opportunity_id=opportunity.pk,
                    data={
                        "summary": "Five-year term loan for the new production line.",
                        "facilities": [
                            _facility(
                                "term_loan",
                                amount,
                                60,
                                grace_months=6,
                                security="Mortgage over the new plant",
                            )
                        ],
                    },
                )
                proposals.issue_proposal(actor=rm, proposal_id=proposal.pk)
        _analysed(rm, analyst, covered[4], "3000000", 4)
        offered = _analysed(rm, analyst, covered[5], "2500000", 3)
        decisions.decide(
            actor=approver, application_id=offered.pk, outcome="approved", comment="Within appetite."
        )
        offers.issue_offer(
            actor=rm, application_id=offered.pk, expires_on=timezone.localdate() + timedelta(days=30)
        )
    return True
