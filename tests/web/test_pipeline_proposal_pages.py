"""Proposals through the pages (drafting with facilities and guarantors, refusals beside their fields,
issue and acceptance into an application) and the term sheet as a page and a PDF in both languages."""

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext, override
from pypdf import PdfReader

from lendcrm.core.models import User
from lendcrm.origination.models import Application
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from lendcrm.pipeline import services, termsheet, termsheet_pdf
from lendcrm.pipeline.models import Opportunity, Proposal
from tests.contract.test_access_matrix import _database_digest
from tests.web.conftest import html
from tests.web.test_pipeline_pages import FACILITY, _catalogue, _proposal, opportunity, proposal

__all__ = ["_catalogue", "opportunity", "proposal"]  # fixtures shared with the other pipeline pages

pytestmark = pytest.mark.django_db


# --- proposals ----------------------------------------------------------------------------------------
def _form(**fields: Any) -> dict[str, Any]:
    """A proposal form as the page posts it: one facility unless more are given."""
    facility = {
        "product": "term_loan",
        "amount": "45000000",
        "currency": "CNY",
        "tenor_months": "84",
        "repayment_profile": "equal_principal",
        "grace_months": "12",
        "rate_type": "floating",
        "base_rate": "lpr_5y",
        "margin_pct": "0.9",
        "upfront_fee_pct": "0.25",
        "security": "Mortgage over the berth",
    }
    facilities = fields.pop("facilities", [facility])
    data: dict[str, Any] = {
        "facilities-TOTAL_FORMS": str(len(facilities)),
        "facilities-INITIAL_FORMS": "0",
        "facilities-MIN_NUM_FORMS": "1",
        "facilities-MAX_NUM_FORMS": "20",
        "summary": "Berth extension financing",
        "conditions": "Board approval of the borrower",
        "valid_until": (timezone.localdate() + timedelta(days=45)).isoformat(),
    }
    for index, values in enumerate(facilities):
        data |= {f"facilities-{index}-{name}": value for name, value in {**facility, **values}.items()}
    return {**data, **fields}


def test_a_proposal_is_drafted_with_its_facilities_and_a_guarantor(
    rm_a: User, web: Any, opportunity: Opportunity
) -> None:
    guarantor = party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Pudong Port Group", branch=rm_a.branch
    )
    client = web(rm_a)
    picker = html(client.post("/pipeline/pick-party/", {"q": "Port Group", "field": "guarantors"}))
    assert f'type="checkbox" name="guarantors" value="{guarantor.pk}"' in picker
    second = {"product": "working_capital", "amount": "5000000", "tenor_months": "12"}
    second |= {"repayment_profile": "bullet", "grace_months": "0", "rate_type": "fixed", "base_rate": ""}
    second |= {"margin_pct": "", "fixed_rate_pct": "3.45"}
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/",
        _form(facilities=[{}, second], guarantors=[guarantor.pk]),
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pipeline/proposals/{proposal.pk}/"
    page = html(client.get(response["Location"]))
    for text in ("CNY 45,000,000.00", "LPR 5 years + 0.90 %", "fixed 3.45 %", "Pudong Port Group", "Draft"):
        assert text in page, text
    assert [f.amount for f in proposal.facilities.all()] == [Decimal("45000000"), Decimal("5000000")]
    # The next version starts from this one's terms.
    again = html(client.get(f"/pipeline/opportunities/{opportunity.pk}/proposals/new/"))
    assert 'name="facilities-1-amount"' in again
    assert "Pudong Port Group" in again


def test_products_are_offered_in_the_page_language_only(
    rm_a: User, web: Any, opportunity: Opportunity
) -> None:
    client = web(rm_a)
    url = f"/pipeline/opportunities/{opportunity.pk}/proposals/new/"

    def products() -> str:
        return html(client.get(url)).split('name="facilities-0-product"')[1].split("</select>")[0]

    english = products()
    assert '<option value="working_capital">Working capital loan</option>' in english
    assert "流动资金贷款" not in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    chinese = products()
    assert '<option value="working_capital">流动资金贷款</option>' in chinese
    assert "Working capital loan" not in chinese


def test_a_facility_refusal_lands_beside_its_field_and_nothing_is_saved(
    rm_a: User, rm_b: User, web: Any, opportunity: Opportunity
) -> None:
    client = web(rm_a)
    before = _database_digest()
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/",
        _form(facilities=[{"margin_pct": "", "grace_months": "84"}]),
    )
    assert response.status_code == 400
    body = html(response)
    assert "A floating rate needs a margin." in body.split('id="id_facilities-0-margin_pct-errors"')[1][:200]
    assert "shorter than the tenor" in body.split('id="id_facilities-0-grace_months-errors"')[1][:200]
    elsewhere = party_services.create_party(
        actor=rm_b, kind="sme", legal_name="Chaoyang Mills", branch=rm_b.branch
    )
    before = _database_digest()
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/", _form(guarantors=[elsewhere.pk])
    )
    assert response.status_code == 400
    assert f"No party you can see has the id {elsewhere.pk}" in html(response)
    assert "Chaoyang Mills" not in html(response)
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/", _form(facilities=[{"amount": "lots"}])
    )
    assert response.status_code == 400
    assert _database_digest() == before


def test_another_facility_row_is_added_without_saving(rm_a: User, web: Any, opportunity: Opportunity) -> None:
    response = web(rm_a).post(
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/", _form(add_facility="1")
    )
    assert response.status_code == 200
    body = html(response)
    assert 'name="facilities-1-amount"' in body
    assert 'value="45000000"' in body  # what was typed stays
    assert not Proposal.objects.exists()


def test_issue_accept_and_the_application_it_became(
    rm_a: User, web: Any, opportunity: Opportunity, proposal: Proposal
) -> None:
    client = web(rm_a)
    assert (
        client.post(f"/pipeline/proposals/{proposal.pk}/issue/", {"version": proposal.version}).status_code
        == 302
    )
    proposal.refresh_from_db()
    again = client.post(f"/pipeline/proposals/{proposal.pk}/issue/", {"version": proposal.version})
    assert again.status_code == 409  # issued already
    assert "Issued to customer" in html(again)
    stale = client.post(f"/pipeline/proposals/{proposal.pk}/accept/", {"version": proposal.version - 1})
    assert stale.status_code == 409
    response = client.post(f"/pipeline/proposals/{proposal.pk}/accept/", {"version": proposal.version})
    assert response.status_code == 302
    page = html(client.get(response["Location"]))
    proposal.refresh_from_db()
    application = Application.objects.get(proposal=proposal)
    assert "the loan application was created" in page
    link = page.split('id="application-link"')[1].split("</div>")[0]
    assert f'href="/applications/{application.pk}/"' in link
    # named by its reference, as people know it, never by the row id
    assert f"Open application {application.reference}</a>" in link
    assert application.reference.startswith("APP-")
    opportunity.refresh_from_db()
    assert opportunity.stage == "application"


def test_a_stale_proposal_edit_keeps_what_was_typed(
    rm_a: User, web: Any, opportunity: Opportunity, proposal: Proposal
) -> None:
    services.update_proposal(actor=rm_a, proposal_id=proposal.pk, changes={"summary": "Changed meanwhile"})
    response = web(rm_a).post(
        f"/pipeline/proposals/{proposal.pk}/edit/",
        _form(summary="My own summary", version=proposal.version),
    )
    assert response.status_code == 409
    body = html(response)
    assert "My own summary" in body
    assert "Changed meanwhile" in body
    proposal.refresh_from_db()
    assert proposal.summary == "Changed meanwhile"
    response = web(rm_a).post(
        f"/pipeline/proposals/{proposal.pk}/edit/", _form(summary="Second try", version=proposal.version)
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.summary == "Second try"


# --- the term sheet -------------------------------------------------------------------------------------
def _pdf_text(response: Any) -> str:
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_term_sheet_page_in_either_language(
    rm_a: User, web: Any, party_a: Party, proposal: Proposal
) -> None:
    client = web(rm_a)
    english = html(client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet/?lang=en"))
    for text in (
        party_a.legal_name,
        "CNY 30,000,000.00",
        "LPR 5 years + 0.85 %",
        "Upfront fee",
        "Mortgage over the quay cranes",
        "Net debt / EBITDA below 3.5x",
        "Signed mortgage over the cranes",
        "Indicative and subject to credit approval",
        'lang="en" id="termsheet"',
    ):
        assert text in english, text
    chinese = html(client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet/?lang=zh-hans"))
    with override("zh-hans"):
        headings = [gettext("Guarantors"), gettext("Conditions precedent"), gettext("Parties")]
    assert 'lang="zh-Hans" id="termsheet"' in chinese
    assert party_a.legal_name in chinese
    assert "CNY 30,000,000.00" in chinese
    assert all(h in chinese for h in headings)
    assert "Sign out" in chinese  # the workspace around the document stays in the reader's language
    assert client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet/?lang=fr").status_code == 400


def test_the_term_sheet_pdf_in_either_language(
    rm_a: User, web: Any, party_a: Party, proposal: Proposal
) -> None:
    client = web(rm_a)
    english = _pdf_text(client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet.pdf?lang=en"))
    assert party_a.legal_name in english
    assert "30,000,000.00" in english
    assert "indicative term sheet" in english.lower()
    chinese = _pdf_text(client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet.pdf?lang=zh-hans"))
    assert party_a.legal_name in chinese
    assert party_a.local_name in chinese  # CJK glyphs made it into the PDF (Noto Sans CJK)
    assert "30,000,000.00" in chinese
    with override("zh-hans"):
        heading = gettext("Indicative term sheet")
        parties = gettext("Parties")
    assert heading.lower() in chinese.lower()
    assert parties in chinese
    assert any("\u4e00" <= ch <= "\u9fff" for ch in parties)  # a heading the catalogue translates already
    assert client.get(f"/pipeline/proposals/{proposal.pk}/term-sheet.pdf?lang=xx").status_code == 400


def test_the_pdf_reads_our_static_files_and_nothing_else() -> None:
    fetcher = termsheet_pdf.StaticOnlyFetcher()
    css = fetcher.fetch(f"{termsheet.DOCUMENT_ORIGIN}/static/pipeline/termsheet.css")
    assert b"Noto Sans CJK SC" in css.read()
    for url in (
        "https://example.com/tracker.png",
        "file:///etc/passwd",
        f"{termsheet.DOCUMENT_ORIGIN}/static/../settings.py",
        f"{termsheet.DOCUMENT_ORIGIN}/admin/",
        "http://lendcrm.invalid/static/pipeline/termsheet.css",
    ):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)


# --- constant work ----------------------------------------------------------------------------------------
def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


def test_the_detail_pages_run_the_same_queries_however_many_versions_and_facilities(
    rm_a: User, web: Any, party_a: Party, opportunity: Opportunity, proposal: Proposal
) -> None:
    client = web(rm_a)
    client.get("/")  # the first request of a session also saves the session
    paths = [
        f"/pipeline/opportunities/{opportunity.pk}/",
        f"/pipeline/proposals/{proposal.pk}/",
        f"/pipeline/proposals/{proposal.pk}/edit/",
        f"/pipeline/proposals/{proposal.pk}/term-sheet/?lang=en",
    ]
    guarantors = [
        party_services.create_party(
            actor=rm_a, kind="corporate", legal_name=f"Guarantor {i}", branch=rm_a.branch
        ).pk
        for i in range(3)
    ]
    services.update_proposal(actor=rm_a, proposal_id=proposal.pk, changes={"guarantors": guarantors[:1]})
    small = {path: _queries(client, path) for path in paths}
    for _ in range(3):
        _proposal(rm_a, opportunity, facilities=[FACILITY] * 4, guarantors=guarantors)
    services.move_opportunity(actor=rm_a, opportunity_id=opportunity.pk, stage="needs_analysis")
    services.move_opportunity(actor=rm_a, opportunity_id=opportunity.pk, stage="qualify")
    services.update_proposal(
        actor=rm_a, proposal_id=proposal.pk, changes={"facilities": [FACILITY] * 5, "guarantors": guarantors}
    )
    for path in paths:
        assert _queries(client, path) == small[path], path
