"""The numbers a credit memo shows and keeps in each revision: ratios per statement period and expected
loss per facility. Callers resolve scope first (these read by id)."""

from dataclasses import asdict, dataclass, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from lendcrm.core.audit import to_jsonable
from lendcrm.origination import ratios, risk
from lendcrm.origination.models import ApplicationFacility, FinancialStatement, StatementKind

# How many periods of the borrower's statements the memo spreads.
MEMO_PERIODS = 5


@dataclass(frozen=True)
class PeriodRatios:
    statement_id: int
    period_end: date
    period_months: int
    kind: str
    currency: str
    ratios: dict[str, Decimal | None]


def _period(statement: FinancialStatement) -> ratios.Period:
    return ratios.Period({line.code: line.amount for line in statement.lines.all()}, statement.period_months)


def party_ratios(party_id: int, *, periods: int = MEMO_PERIODS) -> list[PeriodRatios]:
    """Ratios of the party's latest periods (projections left out), newest first; growth compares each
    period with the previous one of the same kind. Two queries."""
    statements = list(
        FinancialStatement.objects.filter(party_id=party_id)
        .exclude(kind=StatementKind.PROJECTED)
        .prefetch_related("lines")
        .order_by("-period_end", "kind", "id")
    )
    out = []
    for index, statement in enumerate(statements[:periods]):
        previous = next(
            (
                s
                for s in statements[index + 1 :]
                if s.kind == statement.kind and s.period_end < statement.period_end
            ),
            None,
        )
        out.append(
            PeriodRatios(
                statement_id=statement.pk,
                period_end=statement.period_end,
                period_months=statement.period_months,
                kind=statement.kind,
                currency=statement.currency,
                ratios=ratios.compute(_period(statement), _period(previous) if previous else None),
            )
        )
    return out


@dataclass(frozen=True)
class FacilityLoss:
    facility_id: int
    position: int
    product: str
    currency: str
    ead: Decimal
    lgd: Decimal
    pd: Decimal | None
    expected_loss: Decimal | None
    expected_loss_base: Decimal | None


@dataclass(frozen=True)
class ExpectedLoss:
    facilities: list[FacilityLoss]
    total_base: Decimal | None
    base_currency: str


def expected_losses(facilities: list[ApplicationFacility], pd: Decimal | None) -> ExpectedLoss:
    """EL per facility in its currency and in the base currency, and their sum (None until graded)."""
    rows = []
    for facility in facilities:
        exposure = risk.ead(facility.amount)
        loss = None if pd is None else risk.expected_loss(pd=pd, lgd=facility.lgd, ead=exposure)
        rows.append(
            FacilityLoss(
                facility_id=facility.pk,
                position=facility.position,
                product=facility.product.code,
                currency=facility.currency,
                ead=exposure,
                lgd=facility.lgd,
                pd=pd,
                expected_loss=loss,
                expected_loss_base=None if loss is None else risk.to_base(loss, facility.currency),
            )
        )
    total = None if pd is None else sum((r.expected_loss_base or Decimal(0) for r in rows), Decimal(0))
    return ExpectedLoss(rows, total, settings.LENDCRM_BASE_CURRENCY)


def as_json(value: Any) -> Any:
    """Dataclasses of this module as JSON values (decimals as strings) for a memo revision."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    return to_jsonable(value)
