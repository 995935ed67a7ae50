"""The allocation of a repayment without the database: oldest instalment first, each instalment's parts in
the facility's order, what is left over reported; the prepayment split with its fee."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendcrm.core import errors
from lendcrm.servicing.services.prepayments import split_prepayment
from lendcrm.servicing.services.repayments import PARTS, Due, allocate, parse_order

D = Decimal
ORDER = ("fees", "interest", "principal")


def dues() -> list[Due]:
    return [
        Due(key=1, fees=D("10.00"), interest=D("100.00"), principal=D("900.00")),
        Due(key=2, fees=D("0.00"), interest=D("95.00"), principal=D("905.00")),
    ]


def test_oldest_instalment_first_each_in_the_order() -> None:
    result = allocate(D("1050.00"), dues(), ORDER)
    assert result.paid[1] == {"fees": D("10.00"), "interest": D("100.00"), "principal": D("900.00")}
    assert result.paid[2] == {"fees": D("0.00"), "interest": D("40.00"), "principal": D("0.00")}
    assert result.totals == {"fees": D("10.00"), "interest": D("140.00"), "principal": D("900.00")}
    assert result.left == D("0.00")


def test_a_partial_payment_stops_inside_the_oldest_instalment() -> None:
    result = allocate(D("60.00"), dues(), ORDER)
    # fees 10 first, then 50 of the 100 interest; nothing reaches the second instalment
    assert result.paid == {1: {"fees": D("10.00"), "interest": D("50.00"), "principal": D("0.00")}}


def test_principal_first_when_the_facility_says_so() -> None:
    result = allocate(D("905.00"), dues(), ("principal", "interest", "fees"))
    assert result.paid[1] == {"fees": D("0.00"), "interest": D("5.00"), "principal": D("900.00")}


def test_more_than_is_due_is_left_over() -> None:
    result = allocate(D("2100.00"), dues(), ORDER)
    assert result.left == D("90.00")
    assert sum(result.totals.values()) == D("2010.00")


@pytest.mark.parametrize(
    "text", ["fees,interest", "fees,interest,principal,fees", "fees,interest,capital", ""]
)
def test_an_order_names_each_part_once(text: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        parse_order(text)
    assert caught.value.code == "bad_allocation_order"


def test_an_order_may_have_spaces() -> None:
    assert parse_order(" interest , fees,principal ") == ("interest", "fees", "principal")


cents = st.integers(min_value=0, max_value=10**9).map(lambda n: D(n) / 100)
due_lists = st.lists(st.tuples(cents, cents, cents), min_size=0, max_size=12)
orders = st.permutations(list(PARTS))


@settings(max_examples=2000, deadline=None)
@given(amount=cents, raw=due_lists, order=orders)
def test_allocation_conserves_money_and_settles_oldest_first(
    amount: Decimal, raw: list[tuple[Decimal, Decimal, Decimal]], order: list[str]
) -> None:
    lines = [Due(key=i, fees=f, interest=n, principal=p) for i, (f, n, p) in enumerate(raw)]
    result = allocate(amount, lines, order)
    # nothing created or lost; never more than is due on any part
    assert sum(result.totals.values()) + result.left == amount
    assert result.left >= 0
    for line in lines:
        paid = result.paid.get(line.key, dict.fromkeys(PARTS, D(0)))
        for part in PARTS:
            assert 0 <= paid[part] <= getattr(line, part)
    # money is left over only when everything was settled
    if result.left > 0:
        assert sum(result.totals.values()) == sum(line.total() for line in lines)
    # a later instalment receives money only once every earlier one is settled, and within one
    # instalment a later part only once the earlier parts are
    for line in lines:
        paid = result.paid.get(line.key)
        if not paid:
            continue
        for earlier in lines[: line.key]:
            assert result.paid.get(earlier.key, {})
            assert sum(result.paid[earlier.key].values()) == earlier.total()
        for i, part in enumerate(order):
            if paid[part] > 0:
                for before in order[:i]:
                    assert paid[before] == getattr(line, before)


def test_prepayment_pays_accrued_interest_then_principal_and_fee() -> None:
    # 1 % fee: 10,100.00 after 100.00 of interest buys 10,000.00 of principal and a 100.00 fee
    split = split_prepayment(
        D("10200.00"), accrued=D("100.00"), balance=D("50000.00"), fee_pct=D("1"), minor=D("0.01")
    )
    assert split is not None
    assert (split.interest, split.principal, split.fee, split.left) == (
        D("100.00"),
        D("10000.00"),
        D("100.00"),
        D("0.00"),
    )


def test_prepayment_is_capped_at_the_balance_and_the_rest_left_over() -> None:
    split = split_prepayment(
        D("6000.00"), accrued=D("20.00"), balance=D("5000.00"), fee_pct=D("0"), minor=D("0.01")
    )
    assert split is not None
    assert (split.principal, split.fee, split.left) == (D("5000.00"), D("0.00"), D("980.00"))


def test_nothing_to_prepay_when_the_amount_only_covers_accrued_interest() -> None:
    assert (
        split_prepayment(
            D("20.00"), accrued=D("20.00"), balance=D("5000.00"), fee_pct=D("0"), minor=D("0.01")
        )
        is None
    )


@settings(max_examples=1000, deadline=None)
@given(
    amount=cents.filter(lambda a: a > 0),
    accrued=cents,
    balance=cents,
    fee_pct=st.integers(min_value=0, max_value=500).map(lambda n: D(n) / 100),
)
def test_prepayment_split_never_exceeds_the_amount(
    amount: Decimal, accrued: Decimal, balance: Decimal, fee_pct: Decimal
) -> None:
    split = split_prepayment(amount, accrued=accrued, balance=balance, fee_pct=fee_pct, minor=D("0.01"))
    if split is None:
        return
    assert split.interest + split.fee + split.principal + split.left == amount
    assert split.left >= 0
    assert 0 < split.principal <= balance
    # the left-over could not have bought another cent of principal with its fee (unless the balance is gone)
    if split.principal < balance:
        extra = split.principal + D("0.01")
        fee = (extra * fee_pct / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert extra + fee > amount - accrued


def test_a_bad_bank_wide_order_is_a_configuration_error(settings: object) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from lendcrm.servicing.models import Facility
    from lendcrm.servicing.services.repayments import facility_order

    settings.LENDCRM_REPAYMENT_ORDER = "interest,principal"  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured):
        facility_order(Facility(allocation_order=""))
    assert facility_order(Facility(allocation_order="principal,fees,interest")) == (
        "principal",
        "fees",
        "interest",
    )
