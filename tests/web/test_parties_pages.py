"""The party list, its CSV export, the 360 page and the customer-master forms, through the pages."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core.models import AuditEvent, User
from lendcrm.interactions import services as interaction_services
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party, Relationship
from tests.web.conftest import VALID_LEI, VALID_USCC, html

pytestmark = pytest.mark.django_db


def _parties(rm: User, n: int, prefix: str = "Filler") -> list[Party]:
    return [
        party_services.create_party(
            actor=rm, kind="sme", legal_name=f"{prefix} {i:03d} Co.", branch=rm.branch
        )
        for i in range(n)
    ]


def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


# --- list -------------------------------------------------------------------------------------------
def test_list_filters_sorts_and_stays_in_scope(rm_a: User, rm_b: User, web: Any, party_a: Party) -> None:
    party_services.create_party(
        actor=rm_b, kind="sme", legal_name="Chaoyang Secret Mills", branch=rm_b.branch
    )
    _parties(rm_a, 3)
    page = html(web(rm_a).get("/parties/"))
    assert party_a.legal_name in page
    assert "Chaoyang Secret Mills" not in page
    only_corporates = html(web(rm_a).get("/parties/?kind=corporate"))
    assert party_a.legal_name in only_corporates
    assert "Filler 000" not in only_corporates
    descending = html(web(rm_a).get("/parties/?ordering=-legal_name"))
    assert descending.index("Pudong Harbour") < descending.index("Filler 000")


def test_list_refuses_bad_filters_with_a_message(rm_a: User, web: Any, party_a: Party) -> None:
    response = web(rm_a).get("/parties/?kind=spaceship&kyc_due=-3")
    assert response.status_code == 400
    body = html(response)
    assert "Select a valid choice" in body
    assert party_a.legal_name not in body


def test_list_query_count_does_not_grow_with_the_book(rm_a: User, web: Any) -> None:
    _parties(rm_a, 3)
    small = _queries(web(rm_a), "/parties/")
    _parties(rm_a, 30, prefix="More")
    assert _queries(web(rm_a), "/parties/") == small


def test_kyc_due_link_from_home_lists_my_due_parties(rm_a: User, web: Any, party_a: Party) -> None:
    home = html(web(rm_a).get("/"))
    assert "/parties/?covered=me&amp;kyc_due=30" in home
    listed = html(web(rm_a).get("/parties/?covered=me&kyc_due=30"))
    assert party_a.legal_name in listed
    assert party_a.legal_name not in html(web(rm_a).get("/parties/?covered=me&kyc_due=5"))


# --- export -----------------------------------------------------------------------------------------
def test_export_is_the_current_filter_in_scope_and_audited(
    rm_a: User, rm_b: User, web: Any, party_a: Party
) -> None:
    party_services.create_party(actor=rm_a, kind="sme", legal_name="=HYPERLINK(1)", branch=rm_a.branch)
    party_services.create_party(
        actor=rm_b, kind="corporate", legal_name="Chaoyang Secret", branch=rm_b.branch
    )
    response = web(rm_a).get("/parties/export.csv?kind=corporate")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Id", "Legal name"]
    names = [r[1] for r in rows[1:]]
    assert names == [party_a.legal_name]
    assert "Birth date" not in rows[0]
    everything = web(rm_a).get("/parties/export.csv")
    text = b"".join(everything.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text  # a spreadsheet would run it as a formula
    assert "Chaoyang Secret" not in text
    assert AuditEvent.objects.filter(action="party.exported", actor=rm_a).count() == 2
    refused = web(rm_a).get("/parties/export.csv?kind=spaceship")
    assert refused.status_code == 400
    assert AuditEvent.objects.filter(action="party.exported", actor=rm_a).count() == 2


# --- 360 --------------------------------------------------------------------------------------------
def test_360_page_shows_the_customer(rm_a: User, web: Any, party_a: Party) -> None:
    parent = party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Harbour Group", branch=rm_a.branch
    )
    party_services.create_relationship(
        actor=rm_a, from_party=parent, to_party=party_a, kind="parent_of", ownership_pct=75
    )
    body = html(web(rm_a).get(f"/parties/{party_a.pk}/"))
    for expected in (
        party_a.legal_name,
        party_a.local_name,
        VALID_LEI,
        "Li Wei",
        "CFO",
        "Harbour Group",
        "75 %",
    ):
        assert expected in body, expected
    assert AuditEvent.objects.filter(action="party.viewed_360", party_id=party_a.pk).exists()


def test_360_query_count_does_not_grow_with_the_history(rm_a: User, web: Any, party_a: Party) -> None:
    def grow(n: int) -> None:
        for i in range(n):
            interaction_services.log_interaction(
                actor=rm_a,
                party=party_a,
                channel="phone",
                direction="outbound",
                occurred_at=timezone.now() - timedelta(minutes=i + 1),
                subject=f"Call {i}",
            )
            interaction_services.create_task(
                actor=rm_a,
                party=party_a,
                title=f"Task {i}",
                due_date=timezone.localdate() + timedelta(days=i),
            )
            party_services.create_contact(
                actor=rm_a, party=party_a, role="director", full_name=f"Director {i}"
            )

    grow(1)
    small = _queries(web(rm_a), f"/parties/{party_a.pk}/")
    grow(25)
    assert _queries(web(rm_a), f"/parties/{party_a.pk}/") == small


def test_timeline_scrolls_in_pages_and_refuses_a_forged_cursor(rm_a: User, web: Any, party_a: Party) -> None:
    for i in range(45):
        interaction_services.log_interaction(
            actor=rm_a,
            party=party_a,
            channel="email",
            direction="inbound",
            occurred_at=timezone.now() - timedelta(hours=i + 1),
            subject=f"Mail {i:02d}",
        )
    first = html(web(rm_a).get(f"/parties/{party_a.pk}/"))
    assert "Mail 00" in first
    assert "Mail 44" not in first
    assert 'hx-trigger="revealed"' in first
    cursor = first.split("timeline/?cursor=")[1].split('"')[0]
    second = html(web(rm_a).get(f"/parties/{party_a.pk}/timeline/?cursor={cursor}"))
    assert "Mail 20" in second or "Mail 19" in second
    assert "Mail 00" not in second
    forged = web(rm_a).get(f"/parties/{party_a.pk}/timeline/?cursor=not-a-cursor")
    assert forged.status_code == 400


# --- create and edit --------------------------------------------------------------------------------
def _new_party(**extra: str) -> dict[str, str]:
    return {
        "kind": "corporate",
        "legal_name": "Minhang Precision Tools Co., Ltd.",
        "local_name": "闵行精密工具有限公司",
        "branch": "",
        "lifecycle": "prospect",
        "kyc_status": "not_started",
        **extra,
    }


def test_create_party_with_identifiers(rm_a: User, web: Any) -> None:
    data = _new_party(branch=str(rm_a.branch_id), lei=VALID_LEI, uscc=VALID_USCC)
    response = web(rm_a).post("/parties/new/", data)
    assert response.status_code == 302
    party = Party.objects.get(legal_name="Minhang Precision Tools Co., Ltd.")
    assert response["Location"] == f"/parties/{party.pk}/"
    assert {i.scheme for i in party.identifiers.all()} == {"lei", "uscc"}


def test_an_invalid_lei_is_named_as_such_and_nothing_is_saved(rm_a: User, web: Any) -> None:
    bad_lei = VALID_LEI[:-2] + "00"
    response = web(rm_a).post("/parties/new/", _new_party(branch=str(rm_a.branch_id), lei=bad_lei))
    assert response.status_code == 400
    body = html(response)
    assert 'id="id_lei-errors"' in body
    assert "LEI" in body.split('id="id_lei-errors"')[1][:400]
    assert not Party.objects.filter(legal_name__startswith="Minhang").exists()


def test_an_invalid_social_credit_code_is_named_as_such(rm_a: User, web: Any) -> None:
    bad = VALID_USCC[:-1] + ("X" if VALID_USCC[-1] != "X" else "Y")
    body = html(web(rm_a).post("/parties/new/", _new_party(branch=str(rm_a.branch_id), uscc=bad)))
    assert 'id="id_uscc-errors"' in body
    assert not Party.objects.filter(legal_name__startswith="Minhang").exists()


def test_a_duplicate_identifier_names_the_party_that_has_it(rm_a: User, web: Any, party_a: Party) -> None:
    body = html(web(rm_a).post("/parties/new/", _new_party(branch=str(rm_a.branch_id), lei=VALID_LEI)))
    assert party_a.legal_name in body.split('id="id_lei-errors"')[1][:600]
    assert not Party.objects.filter(legal_name__startswith="Minhang").exists()


def test_edit_saves_and_a_stale_edit_is_refused_with_current_values(
    rm_a: User, web: Any, party_a: Party
) -> None:
    form = web(rm_a).get(f"/parties/{party_a.pk}/edit/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    first = {**data, "short_name": "Harbour"}
    assert web(rm_a).post(f"/parties/{party_a.pk}/edit/", first).status_code == 302
    stale = {**data, "short_name": "Pudong Logistics"}  # the same version, read before the first save
    response = web(rm_a).post(f"/parties/{party_a.pk}/edit/", stale)
    assert response.status_code == 409
    body = html(response)
    assert "Someone else saved a change" in body
    assert 'value="Harbour"' in body  # the current value is in the form
    assert "Pudong Logistics" in body  # and what the person typed is not lost
    party_a.refresh_from_db()
    assert party_a.short_name == "Harbour"


def test_an_illegal_lifecycle_move_is_refused_on_the_field(rm_a: User, web: Any, party_a: Party) -> None:
    form = web(rm_a).get(f"/parties/{party_a.pk}/edit/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    party_services.update_party(
        actor=rm_a, party=party_a, expected_version=party_a.version, lifecycle="former"
    )
    party_a.refresh_from_db()
    response = web(rm_a).post(
        f"/parties/{party_a.pk}/edit/", {**data, "lifecycle": "dormant", "version": party_a.version}
    )
    assert 'id="id_lifecycle-errors"' in html(response)


def test_contacts_and_links_through_the_pages(rm_a: User, web: Any, party_a: Party) -> None:
    client = web(rm_a)
    bad = client.post(
        f"/parties/{party_a.pk}/contacts/new/",
        {"full_name": "Wang Fang", "role": "ubo", "ownership_pct": "130"},
    )
    assert bad.status_code == 400
    assert 'id="id_ownership_pct-errors"' in html(bad)
    ok = client.post(
        f"/parties/{party_a.pk}/contacts/new/",
        {"full_name": "Wang Fang", "role": "ubo", "ownership_pct": "30", "email": "wang.fang@example.cn"},
    )
    assert ok.status_code == 302
    other = party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Harbour Holdings", branch=rm_a.branch
    )
    picker = html(client.post(f"/parties/{party_a.pk}/links/pick/", {"q": "holdings"}))
    assert f'value="{other.pk}"' in picker
    link = {"direction": "incoming", "kind": "parent_of", "other_party": str(other.pk), "ownership_pct": "60"}
    assert client.post(f"/parties/{party_a.pk}/links/new/", link).status_code == 302
    rel = Relationship.objects.get(from_party=other, to_party=party_a)
    over = {**link, "kind": "shareholder_of", "ownership_pct": "50"}
    refused = client.post(f"/parties/{party_a.pk}/links/new/", over)
    assert refused.status_code == 400
    assert 'id="id_ownership_pct-errors"' in html(refused)
    assert client.post(f"/parties/{party_a.pk}/links/{rel.pk}/delete/").status_code == 302
    assert not Relationship.objects.filter(pk=rel.pk).exists()


def test_a_stale_contact_edit_is_refused(rm_a: User, web: Any, party_a: Party) -> None:
    contact = party_a.contact_roles.get().contact
    url = f"/parties/{party_a.pk}/contacts/{contact.pk}/edit/"
    base = {"full_name": "Li Wei", "version": contact.version}
    assert web(rm_a).post(url, {**base, "title": "CFO"}).status_code == 302
    assert web(rm_a).post(url, {**base, "title": "Treasurer"}).status_code == 409


def test_a_role_that_may_not_write_gets_403(make_user: Any, web: Any, party_a: Party) -> None:
    monitor = make_user("monitor", "portfolio_monitor")
    assert (
        "Edit" not in html(web(monitor).get(f"/parties/{party_a.pk}/")).split("<main")[1].split("Profile")[0]
    )
    response = web(monitor).post("/parties/new/", _new_party(branch=str(party_a.branch_id)))
    assert response.status_code == 403


def test_filter_by_rm(rm_a: User, make_user: Any, web: Any, party_a: Party) -> None:
    colleague = make_user("rm_a2", "relationship_manager")
    theirs = party_services.create_party(
        actor=colleague, kind="sme", legal_name="Colleague Client Co.", branch=colleague.branch
    )
    body = html(web(rm_a).get(f"/parties/?rm={rm_a.pk}"))
    assert party_a.legal_name in body
    assert theirs.legal_name not in body
    assert f'<option value="{rm_a.pk}" selected>' in body
    assert f'<option value="{colleague.pk}">' in body


def test_a_scoped_rm_filters_by_the_rms_of_their_branch(
    rm_a: User, rm_b: User, analyst: User, web: Any
) -> None:
    assert f'<option value="{rm_b.pk}"' not in html(web(rm_a).get("/parties/"))
    assert web(rm_a).get(f"/parties/?rm={rm_b.pk}").status_code == 400
    assert f'<option value="{rm_b.pk}"' in html(web(analyst).get("/parties/"))


def test_adding_an_identifier_names_a_bad_or_taken_one(rm_a: User, web: Any, party_a: Party) -> None:
    other = party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Second Co.", branch=rm_a.branch
    )
    url = f"/parties/{other.pk}/identifiers/new/"
    bad = web(rm_a).post(url, {"scheme": "uscc", "value": VALID_USCC[:-1] + "0"})
    assert bad.status_code == 400
    assert 'id="id_value-errors"' in html(bad)
    taken = web(rm_a).post(url, {"scheme": "lei", "value": VALID_LEI})
    assert taken.status_code == 400
    assert party_a.legal_name in html(taken).split('id="id_value-errors"')[1][:600]
    assert not other.identifiers.exists()
    assert web(rm_a).post(url, {"scheme": "uscc", "value": VALID_USCC}).status_code == 302
    assert other.identifiers.get().value == VALID_USCC
