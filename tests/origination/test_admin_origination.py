"""The credit-policy back office: pages render for administrators (and read-only for credit staff), a
draft matrix is edited and activated through the services, an active one cannot be changed, delegations
are granted and revoked."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    Delegation,
    DocumentRequirement,
    MatrixStatus,
    RiskGrade,
    StageTarget,
)
from lendcrm.origination.services import policy

pytestmark = pytest.mark.django_db

MODELS = (
    "authoritylevel",
    "authoritymatrix",
    "delegation",
    "riskgrade",
    "stagetarget",
    "documentrequirement",
)


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    return _client(admin_user)


def _limit_form(matrix: AuthorityMatrix, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The change form of `matrix` as the browser would post it, with `changes` by level slug."""
    limits = list(matrix.limits.select_related("level").prefetch_related("products").order_by("level__rank"))
    data: dict[str, Any] = {
        "limits-TOTAL_FORMS": len(limits),
        "limits-INITIAL_FORMS": len(limits),
        "limits-MIN_NUM_FORMS": 0,
        "limits-MAX_NUM_FORMS": 1000,
    }
    for index, limit in enumerate(limits):
        row = {
            "id": limit.pk,
            "matrix": matrix.pk,
            "level": limit.level_id,
            "max_group_exposure": "" if limit.max_group_exposure is None else str(limit.max_group_exposure),
            "worst_grade": limit.worst_grade,
            "products": [p.pk for p in limit.products.all()],
            **changes.get(limit.level.slug, {}),
        }
        data.update({f"limits-{index}-{name}": value for name, value in row.items()})
    return data


def test_every_page_renders_for_an_administrator(admin_client: Client, admin_user: User) -> None:
    ids = {
        "authoritylevel": AuthorityLevel.objects.first().pk,  # type: ignore[union-attr]
        "authoritymatrix": AuthorityMatrix.objects.get().pk,
        "riskgrade": RiskGrade.objects.first().pk,  # type: ignore[union-attr]
        "stagetarget": StageTarget.objects.first().pk,  # type: ignore[union-attr]
        "documentrequirement": DocumentRequirement.objects.first().pk,  # type: ignore[union-attr]
    }
    approver = User.objects.create(username="x")
    approver.role_grants.create(role=Role.CREDIT_APPROVER)
    ids["delegation"] = policy.grant_delegation(
        actor=admin_user,
        user_id=approver.pk,
        level_id=ids["authoritylevel"],
        valid_from=timezone.localdate(),
        expires_on=timezone.localdate() + timedelta(days=30),
    ).pk
    index = admin_client.get("/admin/")
    assert index.status_code == 200
    for model in MODELS:
        assert f"/admin/origination/{model}/" in index.content.decode()
        assert admin_client.get(f"/admin/origination/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/origination/{model}/add/").status_code == 200, model
        assert admin_client.get(f"/admin/origination/{model}/{ids[model]}/change/").status_code == 200, model


def test_credit_staff_look_but_do_not_touch(make_user: Callable[..., User]) -> None:
    client = _client(make_user("approver", Role.CREDIT_APPROVER))
    matrix = AuthorityMatrix.objects.get()
    assert client.get("/admin/origination/authoritymatrix/").status_code == 200
    assert client.get(f"/admin/origination/authoritymatrix/{matrix.pk}/change/").status_code == 200
    assert client.get("/admin/origination/authoritymatrix/add/").status_code == 403
    assert client.get("/admin/origination/delegation/add/").status_code == 403
    response = client.post(
        "/admin/origination/authoritymatrix/", {"action": "copy_to_draft", "_selected_action": [matrix.pk]}
    )
    assert AuthorityMatrix.objects.count() == 1, response.status_code
    rm = _client(make_user("rm", Role.RELATIONSHIP_MANAGER))
    assert rm.get("/admin/origination/authoritymatrix/").status_code in (302, 403)


def test_a_draft_is_edited_and_activated_an_active_one_is_not(admin_client: Client) -> None:
    v1 = AuthorityMatrix.objects.get()
    # The active version is read-only: its page has no limit form, and a post changes nothing.
    page = admin_client.get(f"/admin/origination/authoritymatrix/{v1.pk}/change/").content.decode()
    assert "limits-0-worst_grade" not in page
    response = admin_client.post(
        f"/admin/origination/authoritymatrix/{v1.pk}/change/", _limit_form(v1, {"rm": {"worst_grade": 9}})
    )
    assert response.status_code == 403
    assert AuthorityLimit.objects.get(matrix=v1, level__slug="rm").worst_grade == 4

    admin_client.post(
        "/admin/origination/authoritymatrix/", {"action": "copy_to_draft", "_selected_action": [v1.pk]}
    )
    draft = AuthorityMatrix.objects.get(number=2)
    assert draft.status == MatrixStatus.DRAFT
    assert (
        "limits-0-worst_grade"
        in admin_client.get(f"/admin/origination/authoritymatrix/{draft.pk}/change/").content.decode()
    )
    response = admin_client.post(
        f"/admin/origination/authoritymatrix/{draft.pk}/change/",
        _limit_form(draft, {"rm": {"worst_grade": 5, "max_group_exposure": "2000000.00"}}),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    limit = AuthorityLimit.objects.get(matrix=draft, level__slug="rm")
    assert (limit.worst_grade, limit.max_group_exposure) == (5, Decimal("2000000.00"))
    assert AuditEvent.objects.filter(action="authority_matrix.limit_set").count() == 1  # only the changed row

    admin_client.post(
        "/admin/origination/authoritymatrix/", {"action": "activate", "_selected_action": [draft.pk]}
    )
    draft.refresh_from_db()
    v1.refresh_from_db()
    assert (draft.status, v1.status) == (MatrixStatus.ACTIVE, MatrixStatus.RETIRED)


def test_a_refused_activation_is_shown_and_changes_nothing(admin_client: Client) -> None:
    admin_client.post("/admin/origination/authoritymatrix/add/", {"note": "empty"})
    empty = AuthorityMatrix.objects.get(number=2)
    response = admin_client.post(
        "/admin/origination/authoritymatrix/",
        {"action": "activate", "_selected_action": [empty.pk]},
        follow=True,
    )
    assert "at least one level" in response.content.decode()
    assert AuthorityMatrix.objects.get(status=MatrixStatus.ACTIVE).number == 1


def test_delegations_are_granted_and_revoked_through_the_services(
    admin_client: Client, make_user: Callable[..., User]
) -> None:
    officer = make_user("officer", Role.CREDIT_APPROVER)
    level = AuthorityLevel.objects.get(slug="regional_head")
    today = timezone.localdate()
    response = admin_client.post(
        "/admin/origination/delegation/add/",
        {
            "user": officer.pk,
            "level": level.pk,
            "valid_from": today,
            "expires_on": today + timedelta(days=90),
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert AuditEvent.objects.filter(action="delegation.granted", object_id=str(delegation.pk)).exists()
    refused = admin_client.post(
        "/admin/origination/delegation/add/",
        {"user": officer.pk, "level": level.pk, "valid_from": today, "expires_on": today + timedelta(days=9)},
        follow=True,
    )
    assert "already holds" in refused.content.decode()
    assert Delegation.objects.count() == 1
    admin_client.post(
        "/admin/origination/delegation/", {"action": "revoke", "_selected_action": [delegation.pk]}
    )
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None


def test_reference_data_saves_through_the_service(admin_client: Client) -> None:
    grade = RiskGrade.objects.get(grade=5)
    response = admin_client.post(
        f"/admin/origination/riskgrade/{grade.pk}/change/",
        {
            "label": "Satisfactory+",
            "local_label": "满意",
            "pd_low": "0.006",
            "pd": "0.009",
            "pd_high": "0.012",
        },
    )
    assert response.status_code == 302
    grade.refresh_from_db()
    assert (grade.grade, grade.label, grade.pd) == (5, "Satisfactory+", Decimal("0.009"))
    assert AuditEvent.objects.filter(action="riskgrade.changed").exists()
