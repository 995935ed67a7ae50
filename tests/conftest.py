"""Shared fixtures: a small bank with two branches, staff of every role, and API clients."""

import importlib
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.hashers import Argon2PasswordHasher
from rest_framework.test import APIClient

from lendcrm.core import services as core_services
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role

PASSWORD = "Correct-Horse-Battery-9"


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Still argon2 (same algorithm and format) but with the smallest costs, so fixtures stay fast."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["tests.conftest.CheapArgon2PasswordHasher"]


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    return f"lendcrm database: {settings.DATABASES['default']['ENGINE']}"


@pytest.fixture
def branch_a(db: Any) -> Branch:
    return core_services.create_branch(
        actor=None, code="SH01", name="Shanghai Pudong", local_name="上海浦东支行"
    )


@pytest.fixture
def branch_b(db: Any) -> Branch:
    return core_services.create_branch(
        actor=None, code="BJ01", name="Beijing Chaoyang", local_name="北京朝阳支行"
    )


@pytest.fixture
def make_user(db: Any, branch_a: Branch) -> Callable[..., User]:
    def make(username: str, *roles: str, branch: Branch | None = None, password: str = PASSWORD) -> User:
        return core_services.create_user(
            actor=None,
            username=username,
            roles=roles or (Role.RELATIONSHIP_MANAGER,),
            branch=branch if branch is not None else branch_a,
            password=password,
        )

    return make


@pytest.fixture
def rm_a(make_user: Callable[..., User]) -> User:
    """A relationship manager at branch A."""
    return make_user("rm_a", Role.RELATIONSHIP_MANAGER)


@pytest.fixture
def rm_b(make_user: Callable[..., User], branch_b: Branch) -> User:
    """A relationship manager at branch B: must never see branch A's customers."""
    return make_user("rm_b", Role.RELATIONSHIP_MANAGER, branch=branch_b)


@pytest.fixture
def analyst(make_user: Callable[..., User]) -> User:
    return make_user("analyst", Role.CREDIT_ANALYST)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user("admin", Role.ADMINISTRATOR)


@pytest.fixture
def api_client() -> Callable[[User | None], APIClient]:
    """An API client authenticated with a fresh personal token of the given user."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = core_services.create_token(actor=None, user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture(autouse=True)
def _no_throttle_state(settings: Any) -> None:
    """Each test starts with empty rate-limit counters."""
    from django.core.cache import cache

    cache.clear()


# The data migrations that fill reference tables (module names start with a digit).
REFERENCE_DATA = (
    ("lendcrm.pipeline.migrations.0002_catalogue", "add_catalogue"),
    ("lendcrm.origination.migrations.0002_reference_data", "add_reference_data"),
)


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """A transactional test (live server, threads) ends with a flush that also empties the tables the
    data migrations filled (products, master scale, authority matrix, …); the next one gets them back."""
    marker = request.node.get_closest_marker("django_db")
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from lendcrm.pipeline.models import Product

    if not Product.objects.exists():
        for module, function in REFERENCE_DATA:
            getattr(importlib.import_module(module), function)(django_apps, None)


def on_postgres() -> bool:
    return bool(os.environ.get("LENDCRM_DATABASE_URL", "").startswith("postgres"))
