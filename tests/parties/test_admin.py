"""The back office shows the customer master read-only, and only to staff who see the whole book."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.parties import services
from lendcrm.parties.models import Party

pytestmark = pytest.mark.django_db


def back_office(user: User) -> Client:
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


@pytest.fixture
def data(make_party: Callable[..., Party]) -> dict[str, int]:
    head = make_party("中国长江三峡集团", identifiers=[("tax_number", "TAX-3G-001")])
    sub = make_party("China Yangtze Power")
    rel = services.create_relationship(
        actor=None, from_party=head, to_party=sub, kind="parent_of", ownership_pct=Decimal(60)
    )
    contact = services.create_contact(actor=None, party=head, role="cfo", full_name="Li Na")
    return {"party": head.pk, "relationship": rel.pk, "contact": contact.pk}


def test_analyst_browses_read_only(make_user: Callable[..., User], data: dict[str, int]) -> None:
    client = back_office(make_user("boss", Role.CREDIT_ANALYST))
    listing = client.get("/admin/parties/party/", {"q": "三峡"})
    assert listing.status_code == 200
    assert "中国长江三峡集团" in listing.content.decode()
    assert "China Yangtze Power" not in listing.content.decode()
    page = client.get(f"/admin/parties/party/{data['party']}/change/")
    assert page.status_code == 200
    assert "TAX-3G-001" in page.content.decode()  # the identifier inline
    assert client.get(f"/admin/parties/contact/{data['contact']}/change/").status_code == 200
    assert client.get(f"/admin/parties/relationship/{data['relationship']}/change/").status_code == 200
    assert client.get("/admin/parties/party/add/").status_code == 403
    response = client.post(f"/admin/parties/party/{data['party']}/change/", {"legal_name": "Renamed"})
    assert response.status_code == 403
    assert Party.objects.get(pk=data["party"]).legal_name == "中国长江三峡集团"


def test_an_administrator_alone_sees_no_customers(
    make_user: Callable[..., User], data: dict[str, int]
) -> None:
    client = back_office(make_user("root", Role.ADMINISTRATOR))
    assert client.get("/admin/parties/party/").status_code == 403
    assert client.get(f"/admin/parties/party/{data['party']}/change/").status_code == 403
    assert "中国长江三峡集团" not in client.get("/admin/").content.decode()
