"""English and Simplified Chinese are complete: every string the code marks is in the catalogue and
translated, the compiled catalogue matches it, and every page speaks the chosen language."""

import re
import shutil
from pathlib import Path
from typing import Any

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings

import lendcrm
from lendcrm.core.models import User
from lendcrm.parties.models import Party
from tests.web.conftest import html

PACKAGE = Path(lendcrm.__file__).resolve().parent
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _problems(po: polib.POFile) -> list[str]:
    return [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]


def test_every_marked_string_is_in_the_catalogue_and_translated(tmp_path: Path, monkeypatch: Any) -> None:
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail("GNU gettext is missing: run `make system-packages` (the catalogue check needs xgettext)")
    copy = tmp_path / "lendcrm"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "migrations", "static"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
        call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)
    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = {e.msgid for e in polib.pofile(str(PO)) if not e.obsolete}
    missing = sorted({e.msgid for e in fresh} - committed)
    assert not missing, f"not in the catalogue (run `make messages` and translate): {missing[:20]}"
    assert not _problems(fresh), f"untranslated or fuzzy: {_problems(fresh)[:20]}"


def test_the_catalogue_is_complete_and_its_placeholders_match() -> None:
    po = polib.pofile(str(PO))
    assert len(po) > 300
    assert not _problems(po)
    for entry in po:
        targets = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        # Chinese has one plural form, which serves the counted one too: it carries the plural's placeholders.
        source = entry.msgid_plural or entry.msgid
        for target in targets:
            assert _placeholders(target) == _placeholders(source), entry.msgid


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\([a-z_]+\)[sd]", text))


def _entries(catalogue: polib._BaseFile) -> dict[tuple[str | None, str], str]:
    return {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in catalogue if e.msgid}


def test_the_compiled_catalogue_matches_the_source() -> None:
    compiled = _entries(polib.mofile(str(PO.with_suffix(".mo"))))
    assert compiled == _entries(polib.pofile(str(PO))), "run `make messages` to rebuild the .mo"


# --- pages in the chosen language --------------------------------------------------------------------
@pytest.mark.django_db
def test_the_language_switch_is_remembered_and_every_page_speaks_chinese(
    rm_a: User, make_user: Any, web: Any, party_a: Party
) -> None:
    client = web(rm_a)
    assert "My day" in html(client.get("/"))
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    pages = [
        "/",
        "/parties/",
        f"/parties/{party_a.pk}/",
        f"/parties/{party_a.pk}/edit/",
        "/tasks/",
        "/parties/new/",
    ]
    for path in pages:
        body = html(client.get(path))
        assert 'lang="zh-hans"' in body, path
        assert "我的一天" in body, path
        for english in ("My day", "Sign out", "Parties</a>"):
            assert english not in body, (path, english)
    review = party_a.kyc_next_review
    profile = html(client.get(f"/parties/{party_a.pk}/"))
    assert f"{review.year}年{review.month}月{review.day}日" in profile  # dates are written the Chinese way
    officer = make_user("officer", "compliance_officer")
    officer_client = web(officer)
    officer_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "审计" in html(officer_client.get("/audit/"))


@pytest.mark.django_db
def test_the_sign_in_page_speaks_chinese_and_its_errors_too(rm_a: User) -> None:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    body = html(client.post("/login/", {"username": "rm_a", "password": "wrong-password"}))
    assert "登录" in body
    assert "Wrong username" not in body


@pytest.mark.django_db
def test_service_refusals_reach_the_page_translated(rm_a: User, web: Any) -> None:
    client = web(rm_a)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    body = html(
        client.post(
            "/parties/new/",
            {
                "kind": "corporate",
                "legal_name": "X",
                "branch": rm_a.branch_id,
                "lifecycle": "prospect",
                "kyc_status": "not_started",
                "lei": "5493001KJTIIGC8Y1R00",
            },
        )
    )
    errors = body.split('id="id_lei-errors"')[1][:300]
    assert "LEI" in errors
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors)


# --- no text outside the translation machinery ------------------------------------------------------
TEMPLATE_DIRS = [PACKAGE / app / "templates" for app in ("web", "parties", "interactions", "core")]
BRAND = {"lendcrm", "CSV", "KYC", "LEI", "RM"}
_TRANSLATED_BLOCK = re.compile(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", re.S)
_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
_LABEL_ATTR = re.compile(r'\b(?:placeholder|aria-label|title|alt)="([^"]*)"')


def _untranslated(source: str) -> list[str]:
    found = [v for v in _LABEL_ATTR.findall(source) if re.search(r"[A-Za-z]{2,}", _TAG.sub("", v))]
    text = _TAG.sub(" ", _TRANSLATED_BLOCK.sub(" ", source))
    text = re.sub(r"<[^>]*>", " ", text)
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if w not in BRAND]
    return found + words


def test_templates_have_no_text_outside_translate_tags() -> None:
    offenders = {}
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            if path.parts[-2] == "admin":
                continue  # the admin's own templates are Django's, translated by Django
            left = _untranslated(path.read_text())
            if left:
                offenders[str(path.relative_to(PACKAGE))] = left[:5]
    assert not offenders, offenders


def test_the_template_check_finds_bare_text() -> None:
    assert _untranslated("<p>Hello there</p>") == ["Hello", "there"]
    assert _untranslated('<input placeholder="Search">') == ["Search"]
    assert _untranslated('<p>{% translate "Hello" %} {{ party.legal_name }}</p>') == []
