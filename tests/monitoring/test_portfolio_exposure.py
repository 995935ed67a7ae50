"""Portfolio exposure: cut by each dimension in the base currency, scoped to the viewer, in one query."""

from decimal import Decimal
from typing import Any

import pytest

from lendcrm.core import errors
from lendcrm.core.models import Branch
from lendcrm.core.roles import Role
from lendcrm.monitoring import portfolio
from lendcrm.origination.risk import to_base
from lendcrm.parties.models import Party
from lendcrm.servicing.models import Category, Facility
from tests.servicing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(db: Any) -> dict[str, Any]:
    """Two borrowers at the factory's branch (CNY and USD), one elsewhere that the branch's RM cannot see."""
    sme = factories.borrower_party("Lingang Turbine Works")
    Party.objects.filter(pk=sme.pk).update(segment="sme", industry_code="C28")
    big = factories.borrower_party("Yangtze Grid Holdings")
    Party.objects.filter(pk=big.pk).update(segment="large_corporate", industry_code="D35")
    far = Branch.objects.create(code="XA01", name="Xi'an Gaoxin")
    other = Party.objects.create(kind="corporate", legal_name="Qinling Mining", branch=far, segment="sme")
    f1 = factories.booked_facility(borrower=sme, amount=Decimal("1000000.00"), grade=4)
    f2 = factories.booked_facility(borrower=big, amount=Decimal("100000.00"), currency="USD", grade=7)
    f3 = factories.booked_facility(borrower=other, amount=Decimal("500000.00"), grade=4)
    Facility.objects.filter(pk=f2.pk).update(
        category=Category.SUBSTANDARD, arrears_principal=Decimal("2000.00")
    )
    return {
        "f1": Facility.objects.get(pk=f1.pk),
        "f2": Facility.objects.get(pk=f2.pk),
        "f3": Facility.objects.get(pk=f3.pk),
        "monitor": factories.staff("pf_monitor", Role.PORTFOLIO_MONITOR),
        "rm": factories.relationship_manager(),
        "admin": factories.staff("pf_admin", Role.ADMINISTRATOR),
    }


def _rows(exposure: portfolio.Exposure) -> dict[Any, tuple[int, Decimal, Decimal]]:
    return {r.key: (r.facilities, r.limit, r.outstanding) for r in exposure.rows}


def test_exposure_by_category_in_the_base_currency(book: dict[str, Any]) -> None:
    usd = to_base(Decimal("100000.00"), "USD")
    cut = portfolio.exposure(viewer=book["monitor"], by="category")
    assert cut.currency == "CNY"
    assert _rows(cut) == {
        "normal": (
            2,
            Decimal("1500000.00"),
            book["f1"].outstanding_principal + book["f3"].outstanding_principal,
        ),
        "substandard": (1, usd, to_base(book["f2"].outstanding_principal, "USD")),
    }
    assert [r.key for r in cut.rows] == ["normal", "substandard"]  # worst last, in the rules' order
    assert cut.facilities == 3
    assert cut.limit == Decimal("1500000.00") + usd
    assert cut.arrears == to_base(Decimal("2000.00"), "USD")
    assert sum(r.share for r in cut.rows) == pytest.approx(Decimal("100.0"), abs=Decimal("0.2"))
    health = portfolio.health(cut)
    assert health.non_performing == to_base(book["f2"].outstanding_principal, "USD")
    assert health.npl_ratio == (health.non_performing * 100 / health.outstanding).quantize(Decimal("0.01"))


def test_each_dimension_names_its_groups(book: dict[str, Any]) -> None:
    monitor = book["monitor"]
    by_branch = portfolio.exposure(viewer=monitor, by="branch")
    assert {r.label for r in by_branch.rows} == {"Lujiazui Lending Centre", "Xi'an Gaoxin"}
    by_segment = portfolio.exposure(viewer=monitor, by="segment")
    assert {r.key: r.facilities for r in by_segment.rows} == {"sme": 2, "large_corporate": 1}
    assert {r.label for r in by_segment.rows} == {"SME", "Large corporate"}
    by_industry = portfolio.exposure(viewer=monitor, by="industry")
    assert {r.key: r.facilities for r in by_industry.rows} == {"C28": 1, "D35": 1, "": 1}
    assert "Not recorded" in {r.label for r in by_industry.rows}
    by_grade = portfolio.exposure(viewer=monitor, by="grade")
    assert [(r.key, r.facilities, r.label) for r in by_grade.rows] == [(4, 2, "Grade 4"), (7, 1, "Grade 7")]


def test_exposure_is_scoped_to_what_the_viewer_may_read(book: dict[str, Any]) -> None:
    cut = portfolio.exposure(viewer=book["rm"], by="branch")
    assert [(r.label, r.facilities) for r in cut.rows] == [("Lujiazui Lending Centre", 2)]
    assert portfolio.exposure(viewer=book["admin"], by="branch").rows == []
    assert not portfolio.may_view_portfolio(book["admin"])
    assert portfolio.may_view_portfolio(book["rm"])


def test_repaid_facilities_are_not_exposure(book: dict[str, Any]) -> None:
    Facility.objects.filter(pk=book["f3"].pk).update(status="repaid")
    assert portfolio.exposure(viewer=book["monitor"], by="category").facilities == 2


def test_exposure_is_one_query_whatever_the_dimension(
    book: dict[str, Any], django_assert_num_queries: Any
) -> None:
    assert portfolio.may_view_portfolio(book["rm"])  # reads the RM's roles once
    for by in portfolio.DIMENSIONS:
        with django_assert_num_queries(1):
            portfolio.exposure(viewer=book["rm"], by=by)


def test_an_unknown_dimension_or_window_is_refused(book: dict[str, Any]) -> None:
    with pytest.raises(errors.ValidationFailed):
        portfolio.exposure(viewer=book["monitor"], by="colour")
    with pytest.raises(errors.ValidationFailed):
        portfolio.window(factories.START, 45)
    assert portfolio.window(factories.START, 30) == factories.START.replace(month=2, day=14)
