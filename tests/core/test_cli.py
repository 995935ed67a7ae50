"""The `lendcrm` command line: createuser, token, audit verify, backup, seed, demo, serve."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from lendcrm.core.models import ApiToken, AuditEvent, Branch, User
from lendcrm.core.roles import Role
from lendcrm.interactions.models import Interaction
from lendcrm.parties.models import Party
from lendcrm.seeding import DEMO_PASSWORD
from tests.conftest import PASSWORD, on_postgres

LENDCRM = Path(sys.executable).with_name("lendcrm")
KEY = re.compile(r"^lc_[0-9a-f]{8}_\S+$")


def run(*args: str, **kw: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **kw)
    return out.getvalue()


def written() -> tuple[int, int, int]:
    return User.objects.count(), AuditEvent.objects.count(), ApiToken.objects.count()


# --- createuser --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_createuser_with_roles_branch_and_password(branch_a: Branch) -> None:
    out = run("createuser", "alice", "--role", "relationship_manager", "--role", "service_agent",
              "--branch", "sh01", "--password", PASSWORD)  # fmt: skip
    user = User.objects.get(username="alice")
    assert user.role_slugs == {Role.RELATIONSHIP_MANAGER, Role.SERVICE_AGENT}
    assert user.branch == branch_a
    assert user.check_password(PASSWORD)
    assert "alice" in out
    assert AuditEvent.objects.filter(action="user.created", object_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_createuser_reads_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDCRM_PASSWORD", PASSWORD)
    run("createuser", "bob", "--role", "credit_analyst")
    assert User.objects.get(username="bob").check_password(PASSWORD)


@pytest.mark.django_db
def test_createuser_without_a_password_is_token_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENDCRM_PASSWORD", raising=False)
    out = run("createuser", "svc", "--role", "service_agent")
    assert not User.objects.get(username="svc").has_usable_password()
    assert "token-only" in out


@pytest.mark.django_db
def test_createuser_with_a_bad_role_fails_and_writes_nothing(branch_a: Branch) -> None:
    before = written()
    with pytest.raises(CommandError, match="Unknown role: wizard") as exc:
        run("createuser", "carol", "--role", "relationship_manager", "--role", "wizard", "--branch", "SH01")
    assert "credit_analyst" in str(exc.value)  # tells the known roles
    assert written() == before


@pytest.mark.django_db
def test_createuser_with_an_unknown_branch_fails_and_writes_nothing(branch_a: Branch) -> None:
    before = written()
    with pytest.raises(CommandError, match=r"Unknown branch XX99\. Known branches: SH01"):
        run("createuser", "dave", "--role", "relationship_manager", "--branch", "xx99")
    assert written() == before


@pytest.mark.django_db
def test_createuser_refuses_a_taken_username_or_weak_password(rm_a: User) -> None:
    before = written()
    with pytest.raises(CommandError, match="taken"):
        run("createuser", "rm_a", "--role", "relationship_manager")
    with pytest.raises(CommandError, match="password"):
        run("createuser", "erin", "--role", "relationship_manager", "--password", "short")
    assert written() == before


# --- token ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_create_prints_the_key_last_and_the_key_authenticates(rm_a: User) -> None:
    out = run("token", "create", "rm_a", "--name", "laptop")
    key = out.strip().splitlines()[-1]
    assert KEY.match(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "rm_a"
    assert ApiToken.objects.get(user=rm_a).name == "laptop"


@pytest.mark.django_db
def test_token_list_shows_prefixes_never_keys_and_revoke_stops_the_key(rm_a: User) -> None:
    key = run("token", "create", "rm_a").strip().splitlines()[-1]
    prefix = key.split("_")[1]
    listing = run("token", "list", "rm_a")
    assert prefix in listing
    assert key not in listing
    assert "active" in listing
    assert f"Token {prefix} revoked" in run("token", "revoke", prefix)
    assert "revoked" in run("token", "list", "rm_a")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").status_code == 401
    assert "already revoked" in run("token", "revoke", prefix)


@pytest.mark.django_db
def test_token_commands_refuse_unknown_users_and_prefixes() -> None:
    before = written()
    with pytest.raises(CommandError, match="No user named ghost"):
        run("token", "create", "ghost")
    with pytest.raises(CommandError, match="No token with prefix deadbeef"):
        run("token", "revoke", "deadbeef")
    assert written() == before


# --- audit verify -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_verify_passes_on_a_fresh_chain(rm_a: User, rm_b: User) -> None:
    out = run("audit", "verify")
    assert f"{AuditEvent.objects.count()} entries checked" in out


@pytest.mark.django_db
def test_audit_verify_names_the_first_tampered_entry(rm_a: User, rm_b: User, analyst: User) -> None:
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) >= 4
    victim = ids[2]
    with connection.cursor() as cursor:  # the model forbids save(): tamper the way an attacker would
        cursor.execute("UPDATE core_auditevent SET action = %s WHERE id = %s", ["user.deleted", victim])
    with pytest.raises(CommandError, match=rf"broken at entry {victim}: content does not match its hash"):
        run("audit", "verify")


@pytest.mark.django_db
def test_audit_verify_reports_a_relinked_entry(rm_a: User, rm_b: User) -> None:
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET prev_hash = %s WHERE id = %s", ["f" * 64, ids[1]])
    with pytest.raises(CommandError, match=rf"entry {ids[1]}: link to the previous entry is broken"):
        run("audit", "verify")


# --- backup -------------------------------------------------------------------------------------


@pytest.mark.skipif(on_postgres(), reason="the online backup API is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_backup_is_a_readable_copy_with_the_same_rows(tmp_path: Path) -> None:
    run("seed", "--parties", "30", "--seed", "4", "--interactions-per-party", "2")
    target = tmp_path / "copy.sqlite3"
    out = run("backup", str(target))
    assert "pages (100 %)" in out
    assert "Backup written" in out
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, model in (("parties_party", Party), ("interactions_interaction", Interaction),
                             ("core_auditevent", AuditEvent), ("core_user", User)):  # fmt: skip
            assert copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == model.objects.count()
    finally:
        copy.close()
    assert not (tmp_path / "copy.sqlite3-wal").exists()
    with pytest.raises(CommandError, match="already exists; pass --force"):
        run("backup", str(target))
    assert "Backup written" in run("backup", str(target), "--force")


@pytest.mark.skipif(on_postgres(), reason="SQLite only")
@pytest.mark.django_db
def test_backup_refuses_to_copy_uncommitted_data(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="outside a transaction"):
        run("backup", str(tmp_path / "copy.sqlite3"))
    assert not (tmp_path / "copy.sqlite3").exists()


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only")
@pytest.mark.django_db
def test_backup_on_postgres_says_to_use_pg_dump(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="pg_dump"):
        run("backup", str(tmp_path / "copy.dump"))
    assert not (tmp_path / "copy.dump").exists()


# --- seed, demo, serve --------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_command_shows_progress_and_refuses_a_second_load_without_append() -> None:
    out = run(
        "seed", "--parties", "40", "--seed", "3", "--as-of", "2026-03-01", "--interactions-per-party", "1"
    )
    assert "rows/s" in out
    assert "40 parties" in out
    with pytest.raises(CommandError, match="--append"):
        run("seed", "--parties", "40", "--seed", "3")
    assert Party.objects.count() == 40
    run("seed", "--parties", "10", "--seed", "3", "--append", "--demo-logins")
    assert Party.objects.count() == 50
    assert User.objects.filter(username="monitor").exists()


@pytest.mark.django_db
def test_demo_without_serving_prints_the_url_logins_and_a_working_token() -> None:
    out = run("demo", "--parties", "40", "--no-serve", "--port", "8123")
    assert "http://127.0.0.1:8123/" in out
    assert DEMO_PASSWORD in out
    for role in Role.values:
        assert role in out
    (key,) = [line.strip() for line in out.splitlines() if KEY.match(line.strip())]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").json()["username"] == "rm"
    assert Party.objects.count() == 40
    again = run("demo", "--no-serve")  # a second run keeps the data and issues a fresh token
    assert "already has parties" in again
    assert Party.objects.count() == 40


@pytest.mark.django_db
def test_serve_runs_waitress_with_the_wsgi_application(monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    from lendcrm.wsgi import application

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append((app, kw)))
    out = run("serve", "--host", "::1", "--port", "8124", "--threads", "3")
    assert calls == [(application, {"host": "::1", "port": 8124, "threads": 3, "ident": "lendcrm"})]
    assert "http://[::1]:8124/" in out


# --- the installed entry point, end to end --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, key: str | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_installed_lendcrm_entry_point_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "LENDCRM_DATABASE_URL": f"sqlite:///{db}", "LENDCRM_PASSWORD": ""}

    def lendcrm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(LENDCRM), *args], env=env, capture_output=True, text=True, timeout=300)

    assert lendcrm("migrate", "-v0").returncode == 0
    made = lendcrm("createuser", "cli_rm", "--role", "relationship_manager")
    assert made.returncode == 0, made.stderr
    assert "token-only" in made.stdout
    bad = lendcrm("createuser", "cli_bad", "--role", "wizard")
    assert bad.returncode != 0
    assert "Unknown role" in bad.stderr
    created = lendcrm("token", "create", "cli_rm")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert KEY.match(key)
    verified = lendcrm("audit", "verify")
    assert verified.returncode == 0
    assert "2 entries checked" in verified.stdout  # user.created, token.created

    port = _free_port()
    server = subprocess.Popen(
        [str(LENDCRM), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline, health = time.monotonic() + 120, 0
        while health != 200:
            assert server.poll() is None, server.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, f"lendcrm serve did not come up (last status {health})"
            time.sleep(0.2)
            try:
                health = _get(f"{base}/healthz")[0]
            except OSError:
                health = 0
        status, me = _get(f"{base}/api/v1/me/", key)
        assert status == 200
        assert me["username"] == "cli_rm"
        assert _get(f"{base}/api/v1/me/")[0] == 401
    finally:
        server.terminate()
        server.wait(timeout=30)

    copied = lendcrm("backup", str(tmp_path / "copy.sqlite3"))
    assert copied.returncode == 0, copied.stderr
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("SELECT count(*) FROM core_apitoken").fetchone()[0] == 1

    with sqlite3.connect(db) as live:
        victim = live.execute("SELECT max(id) FROM core_auditevent").fetchone()[0]
        live.execute("UPDATE core_auditevent SET object_id = 'forged' WHERE id = ?", [victim])
    broken = lendcrm("audit", "verify")
    assert broken.returncode != 0
    assert f"broken at entry {victim}" in broken.stderr
