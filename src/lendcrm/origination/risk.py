"""Expected loss (EL = PD * LGD * EAD, DOMAIN.md) and the one conversion of money into the base currency.

EAD is the facility's full committed amount (credit conversion factor 1): undrawn commitments are assumed
drawn at default, and a guarantee product counts as a direct credit substitute, which Basel's
standardised approach converts at 100 %. A bank that wants lower factors (performance guarantees, trade
letters of credit) changes `ead` here, in one place."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from lendcrm.parties.models import PartyKind

MONEY_PLACES = Decimal("0.01")
# Basel III foundation-IRB LGD for senior unsecured corporate exposures; 45 % for financial institutions.
FIRB_LGD = Decimal("0.40")
FIRB_LGD_FINANCIAL = Decimal("0.45")


def default_lgd(party_kind: str) -> Decimal:
    return FIRB_LGD_FINANCIAL if party_kind == PartyKind.FINANCIAL_INSTITUTION else FIRB_LGD


def ead(amount: Decimal) -> Decimal:
    """Exposure at default of a facility: its committed amount (see the module docstring)."""
    return amount


def expected_loss(*, pd: Decimal, lgd: Decimal, ead: Decimal) -> Decimal:
    """PD * LGD * EAD, in EAD's currency, rounded half-up to the minor unit."""
    return (pd * lgd * ead).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def knows_currency(currency: str) -> bool:
    return currency in settings.LENDCRM_FX_TO_BASE


def to_base(amount: Decimal, currency: str) -> Decimal:
    """`amount` in the base currency at the configured rate (units of base per unit of `currency`)."""
    rate = Decimal(str(settings.LENDCRM_FX_TO_BASE[currency]))
    return (amount * rate).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)
