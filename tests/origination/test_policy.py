"""Credit policy writes: matrix versions (edited only as drafts, one active), limits, delegations and the
reference data; administrators only, audited, refusals change nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    AuthorityLimit,
    AuthorityMatrix,
    Delegation,
    MatrixStatus,
    RiskGrade,
    StageTarget,
)
from lendcrm.origination.services import policy
from tests.origination.authority_fixtures import CreditBank, bank_fixture, level, product  # noqa: F401

pytestmark = pytest.mark.django_db


def _limits(matrix: AuthorityMatrix) -> list[tuple[str, Any, int, list[str]]]:
    return [
        (lim.level.slug, lim.max_group_exposure, lim.worst_grade, sorted(p.code for p in lim.products.all()))
        for lim in matrix.limits.select_related("level").prefetch_related("products").order_by("level__rank")
    ]


@pytest.fixture
def v1() -> AuthorityMatrix:
    return AuthorityMatrix.objects.get(number=1)


def test_a_copy_is_a_draft_with_the_same_limits(admin_user: User, v1: AuthorityMatrix) -> None:
    draft = policy.create_matrix_version(actor=admin_user, copy_from=v1.pk, note="2026 review")
    assert (draft.number, draft.status, draft.note, draft.created_by) == (
        2,
        MatrixStatus.DRAFT,
        "2026 review",
        admin_user,
    )
    assert _limits(draft) == _limits(v1)
    assert AuditEvent.objects.filter(action="authority_matrix.created", object_id=str(draft.pk)).exists()


def test_limits_change_only_on_a_draft(admin_user: User, v1: AuthorityMatrix) -> None:
    rm = level("rm")
    with pytest.raises(errors.Conflict) as caught:
        policy.set_limit(
            actor=admin_user, matrix_id=v1.pk, level_id=rm.pk, max_group_exposure=Decimal(1), worst_grade=3
        )
    assert caught.value.code == "matrix_not_draft"
    draft = policy.create_matrix_version(actor=admin_user, copy_from=v1.pk)
    policy.set_limit(
        actor=admin_user,
        matrix_id=draft.pk,
        level_id=rm.pk,
        max_group_exposure=Decimal("2000000.00"),
        worst_grade=5,
        product_ids=[product("working_capital").pk],
    )
    assert _limits(draft)[0] == ("rm", Decimal("2000000.00"), 5, ["working_capital"])
    assert _limits(v1)[0][1] == Decimal("1000000.00")  # the active version never changes
    event = AuditEvent.objects.filter(action="authority_matrix.limit_set").get()
    assert event.changes["after"]["worst_grade"] == 5
    assert event.changes["before"]["worst_grade"] == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_group_exposure": Decimal(0)}, "max_group_exposure"),
        ({"max_group_exposure": Decimal("-5")}, "max_group_exposure"),
        ({"max_group_exposure": Decimal("1.001")}, "max_group_exposure"),
        ({"max_group_exposure": Decimal("1e30")}, "max_group_exposure"),
        ({"worst_grade": 11}, "worst_grade"),
        ({"worst_grade": "3"}, "worst_grade"),
        ({"product_ids": [987654]}, "products"),
        ({"level_id": 987654}, "level"),
    ],
)
def test_bad_limits_are_refused(
    admin_user: User, v1: AuthorityMatrix, kwargs: dict[str, Any], field: str
) -> None:
    draft = policy.create_matrix_version(actor=admin_user, copy_from=v1.pk)
    before = _limits(draft)
    arguments = {"max_group_exposure": None, "worst_grade": 4, "level_id": level("rm").pk, **kwargs}
    with pytest.raises(errors.ValidationFailed) as caught:
        policy.set_limit(actor=admin_user, matrix_id=draft.pk, **arguments)
    assert field in caught.value.field_errors
    assert _limits(draft) == before


def test_a_non_lending_product_cannot_be_limited(admin_user: User, v1: AuthorityMatrix) -> None:
    draft = policy.create_matrix_version(actor=admin_user)
    with pytest.raises(errors.ValidationFailed):
        policy.set_limit(
            actor=admin_user,
            matrix_id=draft.pk,
            level_id=level("rm").pk,
            max_group_exposure=None,
            worst_grade=4,
            product_ids=[product("insurance").pk],
        )


def test_activation_retires_the_active_version(admin_user: User, v1: AuthorityMatrix) -> None:
    draft = policy.create_matrix_version(actor=admin_user, copy_from=v1.pk)
    policy.remove_limit(actor=admin_user, matrix_id=draft.pk, level_id=level("rm").pk)
    active = policy.activate_matrix(actor=admin_user, matrix_id=draft.pk)
    v1.refresh_from_db()
    assert (v1.status, active.status) == (MatrixStatus.RETIRED, MatrixStatus.ACTIVE)
    assert active.activated_at is not None
    assert [slug for slug, *_ in _limits(active)] == [
        "branch_credit_officer",
        "regional_head",
        "head_office_credit",
        "credit_committee",
    ]
    with pytest.raises(errors.Conflict):
        policy.activate_matrix(actor=admin_user, matrix_id=v1.pk)  # retired stays retired


def test_the_database_allows_one_active_matrix(v1: AuthorityMatrix) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorityMatrix.objects.create(number=9, status=MatrixStatus.ACTIVE)


def test_activation_needs_limits_and_an_all_powerful_top_level(admin_user: User, v1: AuthorityMatrix) -> None:
    empty = policy.create_matrix_version(actor=admin_user)
    with pytest.raises(errors.Conflict) as caught:
        policy.activate_matrix(actor=admin_user, matrix_id=empty.pk)
    assert caught.value.code == "matrix_empty"
    draft = policy.create_matrix_version(actor=admin_user, copy_from=v1.pk)
    committee = level("credit_committee")
    policy.set_limit(
        actor=admin_user,
        matrix_id=draft.pk,
        level_id=committee.pk,
        max_group_exposure=Decimal(10**9),
        worst_grade=10,
    )
    with pytest.raises(errors.Conflict) as caught:
        policy.activate_matrix(actor=admin_user, matrix_id=draft.pk)
    assert caught.value.code == "matrix_top_level_limited"
    v1.refresh_from_db()
    assert v1.status == MatrixStatus.ACTIVE


def test_only_administrators_change_policy(bank: CreditBank, v1: AuthorityMatrix) -> None:
    approver = bank.approvers["head_office_credit"]
    calls = [
        lambda: policy.create_matrix_version(actor=approver),
        lambda: policy.activate_matrix(actor=approver, matrix_id=v1.pk),
        lambda: policy.grant_delegation(
            actor=approver,
            user_id=approver.pk,
            level_id=level("credit_committee").pk,
            valid_from=timezone.localdate(),
            expires_on=timezone.localdate(),
        ),
        lambda: policy.save_configuration(actor=approver, obj=RiskGrade.objects.get(grade=1)),
    ]
    for call in calls:
        with pytest.raises(errors.PermissionDenied):
            call()
    assert AuthorityMatrix.objects.count() == 1


# --- delegations ----------------------------------------------------------------------------------
def test_grant_and_revoke(admin_user: User, make_user: Any) -> None:
    approver = make_user("approver.new", Role.CREDIT_APPROVER)
    today = timezone.localdate()
    grant = policy.grant_delegation(
        actor=admin_user,
        user_id=approver.pk,
        level_id=level("regional_head").pk,
        valid_from=today,
        expires_on=today + timedelta(days=365),
    )
    assert (grant.granted_by, grant.revoked_at) == (admin_user, None)
    with pytest.raises(errors.Conflict) as caught:
        policy.grant_delegation(
            actor=admin_user,
            user_id=approver.pk,
            level_id=level("regional_head").pk,
            valid_from=today + timedelta(days=100),
            expires_on=today + timedelta(days=500),
        )
    assert caught.value.code == "delegation_overlaps"
    revoked = policy.revoke_delegation(actor=admin_user, delegation_id=grant.pk)
    assert revoked.revoked_at is not None
    with pytest.raises(errors.Conflict):
        policy.revoke_delegation(actor=admin_user, delegation_id=grant.pk)
    assert [e.action for e in AuditEvent.objects.filter(object_type="delegation").order_by("id")] == [
        "delegation.granted",
        "delegation.revoked",
    ]


@pytest.mark.parametrize(
    ("roles", "slug", "days", "field"),
    [
        ((Role.CREDIT_ANALYST,), "regional_head", 10, "user"),
        ((Role.CREDIT_APPROVER,), "credit_committee", 10, "user"),
        ((Role.CREDIT_APPROVER,), "regional_head", -1, "expires_on"),
    ],
)
def test_bad_grants_are_refused(
    admin_user: User, make_user: Any, roles: tuple[str, ...], slug: str, days: int, field: str
) -> None:
    user = make_user("candidate", *roles)
    today = timezone.localdate()
    with pytest.raises(errors.ValidationFailed) as caught:
        policy.grant_delegation(
            actor=admin_user,
            user_id=user.pk,
            level_id=level(slug).pk,
            valid_from=today,
            expires_on=today + timedelta(days=days),
        )
    assert field in caught.value.field_errors
    assert not Delegation.objects.exists()


# --- reference data -------------------------------------------------------------------------------
def test_reference_data_is_validated_audited_and_keys_stay(admin_user: User) -> None:
    target = StageTarget.objects.get(status="pending_decision", product__isnull=True)
    target.target_hours = 24
    policy.save_configuration(actor=admin_user, obj=target)
    event = AuditEvent.objects.filter(action="stagetarget.changed").get()
    assert event.changes == {"before": {"target_hours": 48}, "after": {"target_hours": 24}}
    committee = level("credit_committee")
    committee.rank = 5
    with pytest.raises(errors.ValidationFailed):
        policy.save_configuration(actor=admin_user, obj=committee)
    grade = RiskGrade.objects.get(grade=3)
    grade.pd = Decimal("0.5")  # outside its band
    with pytest.raises(errors.ValidationFailed):
        policy.save_configuration(actor=admin_user, obj=grade)
    assert AuthorityLimit.objects.count() == 5
