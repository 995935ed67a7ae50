"""The credit memo page (statements side by side, ratios, grade and expected loss, completion, stale edits,
refusals, constant queries) and offers (issue, the letter, acceptance; an approver may not issue)."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.origination.models import CreditMemo, FinancialStatement, Offer, Status
from tests.origination.conftest import AppFactory
from tests.web.conftest import html
from tests.web.origination_fixtures import apps, authorised, borrower, page_queries

__all__ = ["apps", "authorised", "borrower"]  # fixtures shared by the origination page tests

pytestmark = pytest.mark.django_db


def _statement(period_end: str, **lines: str) -> dict[str, str]:
    data = {"period_end": period_end, "period_months": "12", "kind": "audited", "currency": "CNY"}
    data.update({f"line_{code}": amount for code, amount in lines.items()})
    return data


def test_an_analyst_spreads_statements_grades_and_completes_the_memo(
    apps: AppFactory,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    client = web(analyst)
    url = f"/applications/{application.pk}/memo/"
    page = html(client.get(url))
    assert 'id="statement-form"' in page
    assert 'id="memo-form"' in page
    assert "Balance sheet" in page
    assert "Income statement" in page
    assert "Cash flow" in page
    assert "PD 0.42 %" in page  # grades are offered with their PD
    for year, revenue in (("2023-12-31", "80000000"), ("2024-12-31", "100000000")):
        saved = client.post(
            f"{url}statements/",
            _statement(
                year,
                revenue=revenue,
                ebitda="20000000",
                interest_expense="4000000",
                depreciation="5000000",
                short_term_debt="30000000",
                long_term_debt="50000000",
                equity="40000000",
                current_assets="60000000",
                current_liabilities="40000000",
            ),
        )
        assert saved.status_code == 302
    page = html(client.get(url))
    spread = page.split('id="statement-table"')[1].split("</thead>")[0]
    assert spread.index("2023") < spread.index("2024")  # periods side by side, oldest first
    assert "100,000,000.00" in page
    assert 'data-ratio="leverage"' in page
    assert "4.00\u00d7" in page  # 80m debt / 20m EBITDA
    assert "25.0 %" in page  # revenue growth 2024 on 2023
    grade = {"risk_grade": "4", "recommendation": "Approve.", "business": "Castings.", "version": "0"}
    assert client.post(url, grade).status_code == 302
    memo = CreditMemo.objects.get(application=application)
    assert memo.risk_grade is not None
    assert memo.risk_grade.grade == 4
    page = html(client.get(url))
    assert 'id="el-total"' in page
    assert "CNY 8,400.00" in page
    completed = client.post(f"{url}complete/", {"version": memo.version})
    assert completed.status_code == 302
    memo.refresh_from_db()
    assert memo.completed_at is not None
    assert 'id="revisions"' in html(client.get(url))


def test_grades_are_offered_in_the_page_language(apps: AppFactory, analyst: User, web: Any) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    english = html(client.get(url)).split('name="risk_grade"')[1].split("</select>")[0]
    assert ">4 · Good · PD 0.42 %</option>" in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    chinese = html(client.get(url)).split('name="risk_grade"')[1].split("</select>")[0]
    assert ">4 · 良好 · 违约概率 0.42 %</option>" in chinese
    assert "Good" not in chinese
    assert " PD " not in chinese


def test_a_blank_principal_leaves_the_dscr_unknown(apps: AppFactory, analyst: User, web: Any) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    lines = {"ebitda": "15000000", "tax": "0", "interest_expense": "2500000"}

    def dscr() -> str:
        page = html(client.get(url))
        return page.split('data-ratio="dscr"')[1].split("</tr>")[0]

    assert client.post(f"{url}statements/", _statement("2024-12-31", **lines)).status_code == 302
    # EBITDA over interest alone would read 6.00x; the principal was not given, so the DSCR is unknown
    assert "6.00" not in dscr()
    assert "—" in dscr()
    given = _statement("2024-12-31", **lines, principal_repaid="0")
    assert client.post(f"{url}statements/", given).status_code == 302
    assert "6.00\u00d7" in dscr()  # an entered 0: (15m - 0) / (2.5m + 0)
    given = _statement("2024-12-31", **lines, principal_repaid="5000000")
    assert client.post(f"{url}statements/", given).status_code == 302
    assert "2.00\u00d7" in dscr()  # 15m / (2.5m + 5m)


def test_a_stale_memo_edit_is_409_and_keeps_what_was_typed(
    apps: AppFactory,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    assert client.post(url, {"business": "First", "version": "0"}).status_code == 302
    assert client.post(url, {"business": "Second", "version": "1"}).status_code == 302
    stale = client.post(url, {"business": "Mine from an old tab", "version": "1"})
    assert stale.status_code == 409
    body = html(stale)
    assert "Someone else saved a change" in body
    assert "Mine from an old tab" in body
    assert CreditMemo.objects.get(application=application).business == "Second"


def test_memo_refusals_keep_their_status_and_change_nothing(
    apps: AppFactory,
    rm_a: User,
    analyst: User,
    web: Any,
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    read_only = html(web(rm_a).get(url))
    assert 'id="memo-form"' not in read_only
    assert 'id="statement-form"' not in read_only
    assert web(rm_a).post(url, {"business": "Mine", "version": "0"}).status_code == 403
    bad_line = web(analyst).post(f"{url}statements/", _statement("2024-12-31", revenue="lots"))
    assert bad_line.status_code == 400
    assert "Enter a number." in html(bad_line)
    empty = web(analyst).post(f"{url}statements/", _statement("2024-12-31"))
    assert empty.status_code == 400
    assert "Enter at least one line." in html(empty)
    incomplete = web(analyst).post(f"{url}complete/", {})
    assert incomplete.status_code == 409
    assert not FinancialStatement.objects.exists()
    assert not CreditMemo.objects.exists()


def test_memo_query_count_does_not_grow(apps: AppFactory, analyst: User, web: Any) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    url = f"/applications/{application.pk}/memo/"
    client = web(analyst)
    client.post(f"{url}statements/", _statement("2023-12-31", revenue="1000"))
    client.post(url, {"business": "One", "version": "0"})
    few = page_queries(client, url)
    for year in (2020, 2021, 2022, 2024):
        client.post(f"{url}statements/", _statement(f"{year}-12-31", revenue="1000", ebitda="100"))
    for version in range(1, 4):
        client.post(url, {"business": f"Version {version}", "version": str(version)})
    assert FinancialStatement.objects.count() == 5
    assert page_queries(client, url) == few


# --- offers -----------------------------------------------------------------------------------------
def test_the_rm_issues_the_offer_and_records_its_acceptance(
    apps: AppFactory,
    rm_a: User,
    web: Any,
) -> None:
    application = apps.at(Status.APPROVED)
    client = web(rm_a)
    assert 'id="offer-form"' in html(client.get(f"/applications/{application.pk}/"))
    past = client.post(f"/applications/{application.pk}/offers/new/", {"expires_on": "2000-01-01"})
    assert past.status_code == 400
    assert "Give a date after today" in html(past)
    expires = (timezone.localdate() + timedelta(days=20)).isoformat()
    issued = client.post(f"/applications/{application.pk}/offers/new/", {"expires_on": expires})
    offer = Offer.objects.get(application=application)
    assert issued.status_code == 302
    assert issued["Location"] == f"/offers/{offer.pk}/"
    letter = html(client.get(f"/offers/{offer.pk}/"))
    assert 'id="offer-letter"' in letter
    assert offer.reference in letter
    assert "Working capital" in letter
    assert "CNY 5,000,000.00" in letter
    assert "4.35 %" in letter
    accepted = client.post(f"/offers/{offer.pk}/accept/", {"version": offer.version})
    assert accepted.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.OFFER_ACCEPTED
    again = client.post(f"/offers/{offer.pk}/accept/", {"version": offer.version + 1}, follow=True)
    assert "This offer is" in html(again)
    page = html(client.get(f"/applications/{application.pk}/"))
    assert 'data-move="conditions_met"' in page


def test_an_approver_cannot_issue_an_offer(apps: AppFactory, authorised: User, web: Any) -> None:
    application = apps.at(Status.APPROVED)
    expires = (timezone.localdate() + timedelta(days=20)).isoformat()
    refused = web(authorised).post(f"/applications/{application.pk}/offers/new/", {"expires_on": expires})
    assert refused.status_code == 403
    assert not Offer.objects.exists()
