"""The decisions, exposure, conditions and authority-levels endpoints: status codes, problem codes, scope,
the schema, and pinned query counts."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from lendcrm.core.models import User
from lendcrm.origination.models import Condition, Decision, Status
from lendcrm.parties.models import Relationship, RelationshipKind
from tests.origination.authority_fixtures import (
    CreditBank,
    bank_fixture,  # noqa: F401 (the `bank` fixture)
    connect_group,
    delegate,
    make_party,
)

pytestmark = pytest.mark.django_db


def _url(application_id: int, tail: str = "decisions/") -> str:
    return f"/api/v1/applications/{application_id}/{tail}"


def test_an_approver_within_authority_decides_and_everyone_in_scope_reads_it(
    bank: CreditBank, api_client: Any
) -> None:
    application = bank.application(grade=5)
    client = api_client(bank.approvers["branch_credit_officer"])
    response = client.post(
        _url(application.pk),
        {"outcome": "approved_with_conditions", "conditions": ["Share pledge"], "comment": "Good fit"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == Status.APPROVED_WITH_CONDITIONS
    assert body["required_level"]["slug"] == "branch_credit_officer"
    [decision] = body["decisions"]
    assert decision["decided_by"]["username"] == "approver.branch_credit_officer"
    assert (decision["level"], decision["matrix"], decision["risk_grade"]) == ("branch_credit_officer", 1, 5)
    assert decision["group_exposure"] == "500000.00"
    assert [c["text"] for c in body["conditions"]] == ["Share pledge"]
    assert response["ETag"]

    read = api_client(bank.rm).get(_url(application.pk))
    assert read.status_code == 200
    assert read.json() == body


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("rm", 403, "beyond_authority"),
        ("analyst", 403, "maker_cannot_approve"),
        ("nobody", 403, "no_delegation"),
    ],
)
def test_refusals_are_problems_and_change_nothing(
    bank: CreditBank, api_client: Any, who: str, status: int, code: str
) -> None:
    application = bank.application(grade=6)
    delegate(bank.analyst, "head_office_credit")
    user = {
        "rm": bank.approvers["rm"],
        "analyst": bank.analyst,
        "nobody": bank.make_user("nobody", "credit_approver"),
    }[who]
    response = api_client(user).post(_url(application.pk), {"outcome": "approved"}, format="json")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert not Decision.objects.exists()


def test_conflicts(bank: CreditBank, api_client: Any) -> None:
    big = bank.application(grade=9)
    member = api_client(bank.committee[0])
    assert member.post(_url(big.pk), {"outcome": "approved"}, format="json").json()["code"] == (
        "committee_vote_required"
    )
    assert member.post(_url(big.pk), {"vote": "approve"}, format="json").status_code == 201
    again = member.post(_url(big.pk), {"vote": "approve"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_voted")
    draft = bank.application(status=Status.CREDIT_ANALYSIS)
    late = api_client(bank.approvers["rm"]).post(_url(draft.pk), {"outcome": "approved"}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "not_awaiting_decision")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"outcome": "approved", "vote": "approve"},
        {"outcome": "approve"},
        {"vote": "approve", "conditions": ["x"]},
        {"outcome": "approved", "extra": 1},
        {"outcome": "declined"},
        {"outcome": "approved_with_conditions", "conditions": []},
        {"outcome": "approved", "comment": 5},
    ],
)
def test_bad_bodies_are_400(bank: CreditBank, api_client: Any, body: dict[str, Any]) -> None:
    application = bank.application()
    response = api_client(bank.approvers["rm"]).post(_url(application.pk), body, format="json")
    assert response.status_code == 400, response.json()
    assert not Decision.objects.exists()


def test_a_stale_if_match_is_412(bank: CreditBank, api_client: Any) -> None:
    application = bank.application()
    client = api_client(bank.approvers["rm"])
    etag = client.get(_url(application.pk))["ETag"]
    application.purpose = "changed"
    application.version += 1
    application.save()
    response = client.post(_url(application.pk), {"outcome": "approved"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412


def test_out_of_scope_is_404_everywhere(bank: CreditBank, api_client: Any, rm_b: User) -> None:
    application = bank.application()
    delegate(rm_b, "rm")
    client = api_client(rm_b)
    assert client.get(_url(application.pk)).status_code == 404
    assert client.post(_url(application.pk), {"outcome": "approved"}, format="json").status_code == 404
    assert client.get(_url(application.pk, "exposure/")).status_code == 404
    assert client.patch(_url(application.pk, "conditions/1/"), {}, format="json").status_code == 404
    assert client.get(_url(987654)).status_code == 404


def test_exposure_endpoint(bank: CreditBank, api_client: Any, branch_b: Any) -> None:
    elsewhere = make_party(branch_b, "Beijing Secret Holdings")
    Relationship.objects.create(from_party=elsewhere, to_party=bank.borrower, kind=RelationshipKind.PARENT_OF)
    bank.application(borrower=elsewhere, status=Status.APPROVED, facilities=[("term_loan", "100000", "USD")])
    application = bank.application()
    response = api_client(bank.rm).get(_url(application.pk, "exposure/"))
    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["existing"], body["requested"], body["total"]) == (
        "CNY",
        "710000.00",
        "500000.00",
        "1210000.00",
    )
    assert body["member_count"] == 2
    assert body["members"][1] == {
        "party_id": None,
        "legal_name": None,
        "local_name": None,
        "restricted": True,
        "is_borrower": False,
        "existing": "710000.00",
        "requested": "0.00",
        "total": "710000.00",
    }
    assert "Secret" not in response.content.decode()


def test_authority_levels_show_the_active_matrix(bank: CreditBank, api_client: Any) -> None:
    response = api_client(bank.rm).get("/api/v1/authority-levels/")
    assert response.status_code == 200
    body = response.json()
    assert (body["matrix"], body["currency"]) == (1, "CNY")
    by_slug = {level["slug"]: level for level in body["levels"]}
    assert list(by_slug) == [
        "rm",
        "branch_credit_officer",
        "regional_head",
        "head_office_credit",
        "credit_committee",
    ]
    assert by_slug["rm"]["limit"] == {
        "max_group_exposure": "1000000.00",
        "worst_grade": 4,
        "products": ["equipment_finance", "term_loan", "trade_finance", "working_capital"],
    }
    assert by_slug["credit_committee"]["limit"]["max_group_exposure"] is None
    assert by_slug["credit_committee"]["quorum"] == 3


def test_resolving_a_condition(bank: CreditBank, api_client: Any) -> None:
    application = bank.application()
    api_client(bank.approvers["rm"]).post(
        _url(application.pk),
        {"outcome": "approved_with_conditions", "conditions": ["Valuation"]},
        format="json",
    )
    condition = Condition.objects.get()
    url = _url(application.pk, f"conditions/{condition.pk}/")
    rm = api_client(bank.rm)
    assert rm.patch(url, {"status": "met"}, format="json").status_code == 400
    assert rm.patch(url, {"status": "open", "note": "x"}, format="json").status_code == 400
    assert rm.patch(url, {"status": "waived", "note": "x"}, format="json").status_code == 403
    response = rm.patch(url, {"status": "met", "note": "Valuation report CBRE-44"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "met"
    assert rm.patch(url, {"status": "met", "note": "again"}, format="json").status_code == 409
    other = bank.application()
    assert (
        rm.patch(
            _url(other.pk, f"conditions/{condition.pk}/"), {"status": "met", "note": "x"}, format="json"
        ).status_code
        == 404
    )


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_reads_take_constant_queries(bank: CreditBank, api_client: Any) -> None:
    client = api_client(bank.approvers["head_office_credit"])
    client.get("/api/v1/authority-levels/")  # the token's first use is recorded once
    small = bank.application(grade=9)
    big_head = make_party(bank.branch)
    for member in connect_group(big_head, 300)[::30]:
        bank.application(borrower=member, status=Status.APPROVED)
    big = bank.application(borrower=big_head, grade=9)
    for application in (small, big):
        for index in range(3):
            api_client(bank.committee[index]).post(
                _url(application.pk), {"vote": "approve_with_conditions", "comment": "A\nB"}, format="json"
            )
    counts = {
        name: (_count(client, _url(small.pk, tail)), _count(client, _url(big.pk, tail)))
        for name, tail in (("decisions", "decisions/"), ("exposure", "exposure/"))
    }
    assert counts == {"decisions": (6, 6), "exposure": (6, 6)}, counts
    assert _count(client, "/api/v1/authority-levels/") == 3  # token, the active limits, the levels


def test_the_endpoints_are_in_the_schema() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert set(paths["/api/v1/applications/{id}/decisions/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/applications/{id}/exposure/"]
    assert "patch" in paths["/api/v1/applications/{id}/conditions/{condition_id}/"]
    assert "get" in paths["/api/v1/authority-levels/"]
    post = paths["/api/v1/applications/{id}/decisions/"]["post"]
    assert {"201", "403", "409"} <= set(post["responses"])
