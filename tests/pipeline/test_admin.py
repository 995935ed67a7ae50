"""The product catalogue in the back office: administrators rename, reorder and retire products through
the service (audited); nobody adds or deletes them there."""

from collections.abc import Callable

import pytest
from django.test import Client

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.models import Product

pytestmark = pytest.mark.django_db


def back_office(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_administrator_retires_and_renames_a_product(admin_user: User, rm_a: User) -> None:
    product = Product.objects.get(code="insurance")
    client = back_office(admin_user)
    assert client.get("/admin/pipeline/product/").status_code == 200
    page = client.get(f"/admin/pipeline/product/{product.pk}/change/")
    assert page.status_code == 200

    response = client.post(
        f"/admin/pipeline/product/{product.pk}/change/",
        {"name": "Credit insurance", "local_name": "信用保险", "position": 20},  # is_active unticked
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.local_name, product.is_active, product.position) == (
        "Credit insurance",
        "信用保险",
        False,
        20,
    )
    event = AuditEvent.objects.get(action="product.updated")
    assert event.actor == admin_user
    assert set(event.changes["after"]) == {"name", "local_name", "is_active", "position"}
    assert "insurance" not in [p.code for p in selectors.product_list(viewer=rm_a)]
    assert "insurance" in [p.code for p in selectors.product_list(viewer=rm_a, active_only=False)]


def test_products_are_not_added_or_deleted_in_the_back_office(admin_user: User) -> None:
    client = back_office(admin_user)
    product = Product.objects.get(code="term_loan")
    assert client.get("/admin/pipeline/product/add/").status_code == 403
    assert client.post(f"/admin/pipeline/product/{product.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Product.objects.filter(code="term_loan").exists()


def test_other_roles_do_not_manage_the_catalogue(make_user: Callable[..., User]) -> None:
    analyst = make_user("boss", Role.CREDIT_ANALYST)
    product = Product.objects.get(code="term_loan")
    client = back_office(analyst)
    assert client.get(f"/admin/pipeline/product/{product.pk}/change/").status_code == 403
    response = client.post(f"/admin/pipeline/product/{product.pk}/change/", {"name": "Mine", "position": 1})
    assert response.status_code == 403
    assert Product.objects.get(pk=product.pk).name == "Term loan"
    with pytest.raises(errors.PermissionDenied):
        services.update_product(actor=analyst, product=product, name="Mine")


def test_a_product_needs_a_name(admin_user: User) -> None:
    product = Product.objects.get(code="term_loan")
    with pytest.raises(errors.ValidationFailed) as refused:
        services.update_product(actor=admin_user, product=product, name=" ")
    assert "name" in refused.value.field_errors
    assert not AuditEvent.objects.filter(action="product.updated").exists()
