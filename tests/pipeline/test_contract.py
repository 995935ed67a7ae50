"""Schemathesis over the pipeline's operations only: no 5xx, every response as the schema says."""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lendcrm.core import services as core_services
from lendcrm.core.roles import Role
from lendcrm.parties.models import Coverage, Party
from lendcrm.pipeline import services
from tests.contract.test_openapi_fuzz import CHECKS, WSGI_APP, _keep_test_connection, _schema_dict
from tests.pipeline.conftest import opportunity_data, proposal_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
__all__ = ["_keep_test_connection"]

PIPELINE_PATHS = r"^/api/v1/(products|leads|opportunities|proposals)/"


@pytest.fixture
def pipeline_headers(db: Any, _keep_test_connection: None) -> dict[str, str]:
    """A user who may read the whole book and write, with a lead, an opportunity and proposals to find."""
    branch = core_services.create_branch(actor=None, code="FZ01", name="Fuzz branch")
    user = core_services.create_user(
        actor=None, username="fuzzer", roles=[Role.CREDIT_ANALYST, Role.RELATIONSHIP_MANAGER], branch=branch
    )
    party = Party.objects.create(kind="corporate", legal_name="Fuzz Holdings 1", branch=branch)
    Coverage.objects.create(party=party, user=user, role="lead")
    services.create_lead(actor=user, data={"name": "Fuzz lead"})
    opportunity = services.create_opportunity(actor=user, party_id=party.pk, data=opportunity_data())
    services.create_proposal(actor=user, opportunity_id=opportunity.pk, data=proposal_data())
    _, key = core_services.create_token(actor=None, user=user)
    return {"Authorization": f"Token {key}"}


schema = schemathesis.openapi.from_dict(_schema_dict()).include(path_regex=PIPELINE_PATHS)


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
def test_pipeline_api_conforms_to_its_schema(case: Any, pipeline_headers: dict[str, str]) -> None:
    case.call_and_validate(app=WSGI_APP, headers=pipeline_headers, checks=CHECKS)
