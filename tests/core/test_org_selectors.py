"""Staff and branches named in input resolve in a fixed number of queries, or as a field error."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendcrm.core import errors, selectors
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role

pytestmark = pytest.mark.django_db


def test_staff_members_resolve_in_two_queries_in_the_order_given(make_user: Callable[..., User]) -> None:
    users = [make_user(f"agent_{i}", Role.SERVICE_AGENT) for i in range(12)]
    wanted = [u.pk for u in reversed(users)]
    for ids in (wanted[:1], wanted):
        with CaptureQueriesContext(connection) as captured:
            found = selectors.staff_members(ids, field="team", unknown="%(id)s?")
            assert [u.role_slugs for u in found] == [frozenset({Role.SERVICE_AGENT})] * len(ids)
        assert [u.pk for u in found] == ids
        assert len(captured.captured_queries) == 2  # users with branch, then role grants


def test_unknown_staff_member_is_a_field_error(make_user: Callable[..., User]) -> None:
    known = make_user("agent_1", Role.SERVICE_AGENT)
    with pytest.raises(errors.ValidationFailed) as caught:
        selectors.staff_members([known.pk, 999_999], field="team", unknown="%(id)s is unknown")
    assert caught.value.field_errors == {"team": ["999999 is unknown"]}


def test_branch_by_code_ignores_case_and_refuses_unknown_codes(branch_a: Branch) -> None:
    assert selectors.branch_by_code(" sh01 ") == branch_a
    with pytest.raises(errors.ValidationFailed) as caught:
        selectors.branch_by_code("XX99", field="branch")
    assert caught.value.field_errors == {"branch": ["No branch has the code XX99."]}


def test_given_filters_only_by_what_was_given(rm_a: User, rm_b: User) -> None:
    everyone = User.objects.all()
    assert set(selectors.given(everyone, branch_id=None, username="")) == set(everyone)
    assert list(selectors.given(everyone, branch_id=rm_b.branch_id, username="")) == [rm_b]
    assert list(selectors.given(everyone, branch_id=rm_a.branch_id, username="rm_b")) == []


def test_only_compliance_reads_the_audit_trail_or_its_object_types(
    rm_a: User, make_user: Callable[..., User]
) -> None:
    for call in (selectors.audit_events, selectors.audit_object_types):
        with pytest.raises(errors.NotFound):
            call(viewer=rm_a)
    officer = make_user("officer", "compliance_officer")
    assert "user" in selectors.audit_object_types(viewer=officer)
    assert selectors.audit_events(viewer=officer, object_type="user").exists()
