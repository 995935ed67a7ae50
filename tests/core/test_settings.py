"""Settings come from the environment; production refuses the demo secret and debug mode."""

import os
import subprocess
import sys

import pytest

SETUP = "import django; django.setup(); from django.conf import settings; "
PROBE = SETUP + "print(settings.SECURE_HSTS_SECONDS)"


def _load_settings(probe: str = PROBE, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LENDCRM_")}
    clean.update(DJANGO_SETTINGS_MODULE="lendcrm.settings", LENDCRM_DATABASE_URL="sqlite://", **env)
    return subprocess.run(
        [sys.executable, "-c", probe], env=clean, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_the_demo_secret() -> None:
    result = _load_settings(LENDCRM_PRODUCTION="1")
    assert result.returncode != 0
    assert "LENDCRM_SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret() -> None:
    result = _load_settings(LENDCRM_PRODUCTION="1", LENDCRM_SECRET_KEY="short")
    assert result.returncode != 0


def test_production_refuses_debug() -> None:
    result = _load_settings(LENDCRM_PRODUCTION="1", LENDCRM_SECRET_KEY="x" * 50, LENDCRM_DEBUG="1")
    assert result.returncode != 0
    assert "LENDCRM_DEBUG" in result.stderr


def test_production_with_a_real_secret_turns_on_hsts() -> None:
    result = _load_settings(LENDCRM_PRODUCTION="1", LENDCRM_SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 31536000


def test_demo_mode_has_no_hsts_and_is_not_debug() -> None:
    result = _load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


@pytest.mark.parametrize("hosts", ["crm.bank.example", "crm.bank.example,10.0.0.5"])
def test_allowed_hosts_from_the_environment(hosts: str) -> None:
    result = _load_settings(SETUP + "print(','.join(settings.ALLOWED_HOSTS))", LENDCRM_ALLOWED_HOSTS=hosts)
    assert result.stdout.strip() == hosts
