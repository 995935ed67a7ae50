"""Cross-cutting API behaviour: authentication, problem+json, limits, headers, health."""

import json
import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from lendcrm.core.models import User

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_auth_and_reveals_nothing(db: Any) -> None:
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/branches/", "/api/v1/users/", "/api/schema/"])
def test_every_api_endpoint_requires_authentication(path: str, db: Any) -> None:
    response = APIClient().get(path)
    assert response.status_code == 401


def test_problem_json_for_validation_errors(api_client: Any, admin_user: User) -> None:
    response = api_client(admin_user).post("/api/v1/branches/", {"code": "!", "name": ""}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["code"] == "validation_failed"
    assert set(body["errors"]) == {"code", "name"}


def test_unknown_fields_are_refused(api_client: Any, admin_user: User) -> None:
    response = api_client(admin_user).post(
        "/api/v1/branches/", {"code": "GZ01", "name": "Guangzhou", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"colour": ["Unknown field."]}


@pytest.mark.parametrize("body", ["{not json", "[1, 2", '"just a string"', "[]"])
def test_malformed_json_is_a_4xx(api_client: Any, admin_user: User, body: str) -> None:
    response = api_client(admin_user).post("/api/v1/branches/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_wrong_content_type_is_415(api_client: Any, admin_user: User) -> None:
    response = api_client(admin_user).post("/api/v1/branches/", "code=X", content_type="text/plain")
    assert response.status_code == 415


def test_oversized_body_is_413_and_unread(api_client: Any, admin_user: User, settings: Any) -> None:
    settings.LENDCRM_MAX_BODY_BYTES = 1000
    body = json.dumps({"code": "GZ01", "name": "x" * 2000})
    response = api_client(admin_user).post("/api/v1/branches/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("page=0", "validation_failed"),
        ("page=abc", "validation_failed"),
        ("page=999", "page_out_of_range"),
        ("page_size=0", "validation_failed"),
        ("page_size=100000", "validation_failed"),
        ("page_size=x", "validation_failed"),
    ],
)
def test_bad_pages_are_4xx(api_client: Any, rm_a: User, query: str, code: str) -> None:
    response = api_client(rm_a).get(f"/api/v1/branches/?{query}")
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code


def test_rate_limit_per_token_gives_429_with_retry_after(api_client: Any, rm_a: User, settings: Any) -> None:
    settings.LENDCRM_RATE_PER_CLIENT = "3/min"
    client = api_client(rm_a)
    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    last = client.get("/api/v1/me/")
    assert last["Content-Type"] == "application/problem+json"
    assert int(last["Retry-After"]) >= 1
    # Another token has its own budget.
    assert api_client(rm_a).get("/api/v1/me/").status_code == 200


def test_rate_limit_per_address_applies_before_authentication(db: Any, settings: Any) -> None:
    settings.LENDCRM_RATE_PER_ADDRESS = "2/min"
    anonymous = APIClient()
    statuses = [anonymous.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert int(anonymous.get("/api/v1/me/")["Retry-After"]) >= 1
    # Health checks are never throttled.
    assert anonymous.get("/healthz").status_code == 200
    # Another address is unaffected.
    assert APIClient(REMOTE_ADDR="10.9.9.9").get("/api/v1/me/").status_code == 401


def test_security_headers_on_every_response(api_client: Any, rm_a: User) -> None:
    for response in (
        APIClient().get("/healthz"),
        api_client(rm_a).get("/api/v1/me/"),
        APIClient().get("/nowhere"),
    ):
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Request-ID"]


def test_request_id_is_echoed_when_well_formed(db: Any) -> None:
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="abc123def456")
    assert response["X-Request-ID"] == "abc123def456"
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>"


def test_logs_are_json_with_request_id_and_no_secrets(
    api_client: Any, rm_a: User, caplog: pytest.LogCaptureFixture
) -> None:
    from lendcrm.core.logging import JsonFormatter, RequestIdFilter

    client = api_client(rm_a)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    with caplog.at_level(logging.INFO, logger="lendcrm.request"):
        client.get("/api/v1/branches/?search=secret-name@example.com", HTTP_X_REQUEST_ID="req-12345678")
    records = [r for r in caplog.records if r.name == "lendcrm.request"]
    assert records
    formatter, tagger = JsonFormatter(), RequestIdFilter()
    for record in records:
        tagger.filter(record)
        line = formatter.format(record)
        entry = json.loads(line)
        assert entry["path"] == "/api/v1/branches/"
        assert token not in line
        assert "secret-name@example.com" not in line
        assert PASSWORD_FRAGMENT not in line


PASSWORD_FRAGMENT = "Correct-Horse"


def test_api_docs_and_schema_are_served_to_staff(api_client: Any, rm_a: User, client: Any) -> None:
    schema = api_client(rm_a).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    client.force_login(rm_a)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.parametrize("search", ["", "&search=group"])
def test_a_page_beyond_any_list_is_404_not_a_database_error(api_client: Any, rm_a: User, search: str) -> None:
    """Schemathesis found it: an offset past SQL's 64-bit OFFSET was a 500 on SQLite."""
    response = api_client(rm_a).get(f"/api/v1/parties/?page=4621674943436237824&page_size=52{search}")
    assert response.status_code == 404
    assert response.json()["code"] == "page_out_of_range"
