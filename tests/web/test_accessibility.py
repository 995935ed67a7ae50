"""Every form control on the workspace pages has a label a screen reader can announce, every page has
one h1 and the language of the page, and nothing relies on inline styles or scripts (the CSP forbids
them, and an inline one would silently not run)."""

from html.parser import HTMLParser
from typing import Any

import pytest

from lendcrm.core.models import User
from lendcrm.parties.models import Party
from tests.web.conftest import html

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.h1 = 0
        self.inline: list[str] = []
        self.html_lang = ""
        self._in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_lang = a.get("lang", "")
        if tag == "h1":
            self.h1 += 1
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append({**a, "wrapped": "yes" if self._in_label else ""})
        if "style" in a or any(k.startswith("on") for k in a):
            self.inline.append(f"<{tag} {a}>")
        if tag == "script" and not a.get("src"):
            self.inline.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._in_label:
            self._in_label -= 1


def _check(body: str, path: str) -> None:
    page = _Page()
    page.feed(body)
    assert page.html_lang, path
    assert page.h1 == 1, (path, page.h1)
    unlabelled = [
        c for c in page.controls if not (c.get("id") in page.label_for or c.get("aria-label") or c["wrapped"])
    ]
    assert not unlabelled, (path, unlabelled)
    assert not page.inline, (path, page.inline)


def test_workspace_pages_are_labelled_and_free_of_inline_code(
    rm_a: User, make_user: Any, web: Any, party_a: Party
) -> None:
    client = web(rm_a)
    contact = party_a.contact_roles.get().contact
    paths = [
        "/",
        "/parties/",
        "/parties/new/",
        f"/parties/{party_a.pk}/",
        f"/parties/{party_a.pk}/edit/",
        f"/parties/{party_a.pk}/contacts/new/",
        f"/parties/{party_a.pk}/contacts/{contact.pk}/edit/",
        f"/parties/{party_a.pk}/links/new/",
        f"/parties/{party_a.pk}/identifiers/new/",
        "/tasks/",
    ]
    for path in paths:
        _check(html(client.get(path)), path)
    officer = make_user("officer", "compliance_officer")
    _check(html(web(officer).get("/audit/")), "/audit/")
    from django.test import Client

    _check(html(Client(HTTP_HOST="localhost").get("/login/")), "/login/")
