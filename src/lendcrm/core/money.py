"""Money is a Decimal amount with an ISO 4217 currency; never a float."""

from dataclasses import dataclass
from decimal import Decimal

MONEY_MAX_DIGITS = 20
MONEY_DECIMAL_PLACES = 2
CURRENCIES = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY", "SGD")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError("currency must be a three-letter ISO 4217 code")

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"
