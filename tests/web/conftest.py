"""Workspace fixtures: signed-in browsers-in-a-test (Django's Client) and a small book at branch A."""

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from tests.contract.test_access_matrix import branch_a_objects  # noqa: F401  (a fixture shared with the API matrix)

VALID_LEI = "5493001KJTIIGC8Y1R12"
VALID_USCC = "91350100M000100Y43"


@pytest.fixture
def web() -> Callable[[User], Client]:
    """A Django test client with a signed-in session for the given user."""

    def make(user: User) -> Client:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        return client

    return make


@pytest.fixture
def party_a(rm_a: User) -> Party:
    party = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Pudong Harbour Logistics Co., Ltd.",
        local_name="浦东港口物流有限公司",
        branch=rm_a.branch,
        identifiers=[("lei", VALID_LEI)],
        kyc_status="verified",
        kyc_next_review=timezone.localdate() + timedelta(days=10),
    )
    party_services.create_contact(
        actor=rm_a,
        party=party,
        role="cfo",
        full_name="Li Wei",
        points=[party_services.NewContactPoint("email", "li.wei@pudong-harbour.cn", is_preferred=True)],
    )
    return party


def html(response: Any) -> str:
    return response.content.decode()


_SHOTS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """This run's screenshot folder: LENDCRM_SCREENSHOT_DIR, or test-artifacts/screenshots/<time>-<db>."""
    from django.db import connection

    chosen = os.environ.get("LENDCRM_SCREENSHOT_DIR")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = (
        Path(chosen) if chosen else Path("test-artifacts") / "screenshots" / f"{stamp}-{connection.vendor}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    _SHOTS["dir"] = folder.resolve()
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "dir" in _SHOTS:
        shots = sorted(p.name for p in _SHOTS["dir"].glob("*.png"))
        terminalreporter.write_line(f"screenshots ({len(shots)}): {_SHOTS['dir']}")
