"""The access matrix: a relationship manager of another branch gets 404 from every endpoint that takes
the id of branch A's data, learns nothing from the body, and changes nothing."""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.parties import services
from lendcrm.parties.models import Party
from lendcrm.parties.services import NewContactPoint
from tests.parties.conftest import make_lei

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]


def snapshot() -> dict[str, list[Any]]:
    """Every row of the customer master, to compare before and after."""
    return {
        model.__name__: list(model._default_manager.order_by("pk").values())
        for model in apps.get_app_config("parties").get_models()
    }


@pytest.fixture
def secret(make_party: Callable[..., Party], rm_a: User, branch_b: Branch) -> dict[str, Any]:
    """Branch A's data, and one party of rm_b's own to reference in bodies."""
    party = make_party(
        "Secret Holdings", local_name="机密控股", actor=rm_a, identifiers=[("lei", make_lei())]
    )
    sub = make_party("Secret Sub", actor=rm_a)
    mine = make_party("Mine", branch=branch_b)
    contact = services.create_contact(
        actor=rm_a,
        party=party,
        role="cfo",
        full_name="Hidden Person",
        points=[NewContactPoint("email", "hidden@secret.example")],
    )
    rel = services.create_relationship(
        actor=None, from_party=party, to_party=sub, kind="parent_of", ownership_pct=Decimal(51)
    )
    return {
        "party": party.pk,
        "identifier": party.identifiers.get().pk,
        "contact": contact.pk,
        "relationship": rel.pk,
        "mine": mine.pk,
    }


CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/parties/{party}/", None),
    ("patch", "/api/v1/parties/{party}/", {"legal_name": "Hijacked"}),
    ("get", "/api/v1/parties/{party}/identifiers/", None),
    ("post", "/api/v1/parties/{party}/identifiers/", {"scheme": "tax_number", "value": "TAX-1234"}),
    ("delete", "/api/v1/parties/{party}/identifiers/{identifier}/", None),
    ("get", "/api/v1/parties/{party}/coverage/", None),
    ("put", "/api/v1/parties/{party}/coverage/", {"lead": None, "team": []}),
    ("get", "/api/v1/parties/{party}/group/", None),
    ("get", "/api/v1/parties/{party}/360/", None),
    ("get", "/api/v1/contacts/{contact}/", None),
    ("patch", "/api/v1/contacts/{contact}/", {"full_name": "Renamed"}),
    ("post", "/api/v1/contacts/{contact}/roles/", {"party": "{mine}", "role": "guarantor"}),
    ("post", "/api/v1/contacts/{contact}/points/", {"kind": "email", "value": "spy@example.com"}),
    ("post", "/api/v1/contacts/", {"party": "{party}", "role": "cfo", "full_name": "Spy"}),
    ("get", "/api/v1/relationships/{relationship}/", None),
    ("delete", "/api/v1/relationships/{relationship}/", None),
    ("get", "/api/v1/relationships/?party={party}", None),
    (
        "post",
        "/api/v1/relationships/",
        {"from_party": "{mine}", "to_party": "{party}", "kind": "guarantor_of"},
    ),
]


@pytest.mark.parametrize(("method", "path", "payload"), CALLS, ids=[f"{m} {p}" for m, p, _ in CALLS])
def test_other_branch_gets_404_and_changes_nothing(
    api_client: Client,
    rm_b: User,
    secret: dict[str, Any],
    method: str,
    path: str,
    payload: dict[str, Any] | None,
) -> None:
    url = path.format(**secret)
    data = (
        json.loads(
            json.dumps(payload)
            .replace('"{mine}"', str(secret["mine"]))
            .replace('"{party}"', str(secret["party"]))
        )
        if payload
        else None
    )
    client = api_client(rm_b)
    before = snapshot()
    audit_before = AuditEvent.objects.count()
    response = getattr(client, method)(url, data, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 404, (url, response.content)
    text = response.content.decode()
    for leak in ("Secret", "机密", "Hidden", "hidden@", "51.000"):
        assert leak not in text
    assert snapshot() == before
    assert AuditEvent.objects.count() == audit_before


def test_the_same_calls_work_for_the_owner(api_client: Client, rm_a: User, secret: dict[str, Any]) -> None:
    """The matrix would pass trivially if the URLs were wrong: the owner reaches every one of them."""
    client = api_client(rm_a)
    for method, path, _payload in CALLS:
        if method == "get":
            response = client.get(path.format(**secret))
            assert response.status_code == 200, path
