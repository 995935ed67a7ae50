"""Schemathesis fuzzes every operation in our own OpenAPI schema: no 5xx, no response off-schema."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from lendcrm.core import services as core_services
from lendcrm.core.roles import Role
from lendcrm.parties.models import Coverage, Identifier, Party

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

WSGI_APP = get_wsgi_application()
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.response_headers_conformance,
    st_checks.negative_data_rejection,
]


def _schema_dict() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-any-return]


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    """Like Django's test client: a finished request must not close the test transaction's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(db: Any, _keep_test_connection: None) -> dict[str, str]:
    """A user who may read the whole book and write customer data, with a few parties to find."""
    branch = core_services.create_branch(actor=None, code="FZ01", name="Fuzz branch")
    user = core_services.create_user(
        actor=None,
        username="fuzzer",
        roles=[Role.CREDIT_ANALYST, Role.RELATIONSHIP_MANAGER, Role.ADMINISTRATOR],
        branch=branch,
    )
    for index in range(1, 4):
        party = Party.objects.create(
            kind="corporate",
            legal_name=f"Fuzz Holdings {index}",
            local_name=f"模糊控股{index}",
            branch=branch,
        )
        Coverage.objects.create(party=party, user=user, role="lead")
        Identifier.objects.create(party=party, scheme="national_registration", value=f"REG-{index:04d}")
    _, key = core_services.create_token(actor=None, user=user)
    return {"Authorization": f"Token {key}"}


schema = schemathesis.openapi.from_dict(_schema_dict())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any, fuzz_headers: dict[str, str]) -> None:
    case.call_and_validate(app=WSGI_APP, headers=fuzz_headers, checks=CHECKS)
