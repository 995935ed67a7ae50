"""A period's financial statement submitted in monitoring: origination's statement entry, then the
ratios read back and the borrower's covenant tests run on the new data, in one transaction."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.monitoring.services.covenants import run_tests
from lendcrm.origination import ratios
from lendcrm.origination.models import FinancialStatement
from lendcrm.origination.services.memo import save_statement


@dataclass(frozen=True)
class Submission:
    statement: FinancialStatement
    ratios: dict[str, Decimal | None]
    tests_changed: int


def submit_statement(
    *,
    actor: User,
    party_id: int,
    period_end: date,
    period_months: int,
    kind: str,
    currency: str,
    lines: Mapping[str, Decimal],
) -> Submission:
    """Enter (or replace) a party's statement for one period and test its covenants as of today."""
    with transaction.atomic():
        statement = save_statement(
            actor=actor,
            party_id=party_id,
            period_end=period_end,
            period_months=period_months,
            kind=kind,
            currency=currency,
            lines=lines,
        )
        changed = run_tests(as_of=timezone.localdate(), party_ids=[statement.party_id])
    period = ratios.Period(
        {line.code: line.amount for line in statement.lines.all()}, statement.period_months
    )
    return Submission(statement, ratios.compute(period), changed)
