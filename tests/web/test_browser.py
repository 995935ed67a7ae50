"""The workspace in a real browser: Debian's Chromium driven by Playwright against a live server.

Screenshots of the pages go to the folder this run names (printed at the end of the run), so a person
can look at them."""

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.interactions import services as interaction_services
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from tests.conftest import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHINESE_NAME = "浦江港口物流有限公司"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API allows one at a time per thread, so every
    browser test module (each has its own or imports this one) closes its browser before the next starts."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-packages` (Debian's chromium)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make around it
    # are ordinary blocking calls, which Django would otherwise refuse next to a loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def book(rm_a: User, rm_b: User) -> dict[str, Any]:
    party = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Pujiang Harbour Logistics Co., Ltd.",
        local_name=CHINESE_NAME,
        short_name="Pujiang Harbour",
        branch=rm_a.branch,
        identifiers=[("lei", "5493001KJTIIGC8Y1R12")],
        kyc_status="verified",
        kyc_next_review=timezone.localdate() + timedelta(days=12),
        segment="mid_corporate",
        country="CN",
    )
    parent = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Pujiang Holdings Group",
        local_name="浦江控股集团",
        branch=rm_a.branch,
    )
    party_services.create_relationship(
        actor=rm_a, from_party=parent, to_party=party, kind="parent_of", ownership_pct=80
    )
    party_services.create_contact(
        actor=rm_a, party=party, role="cfo", full_name="Zhou Min", local_name="周敏"
    )
    for i in range(3):
        interaction_services.log_interaction(
            actor=rm_a,
            party=party,
            channel="meeting",
            direction="outbound",
            occurred_at=timezone.now() - timedelta(days=i + 1),
            subject=f"Quarterly review {i + 1}",
        )
    interaction_services.create_task(
        actor=rm_a,
        party=party,
        title="Collect audited statements",
        due_date=timezone.localdate() - timedelta(days=1),
    )
    for i in range(12):
        party_services.create_party(
            actor=rm_a, kind="sme", legal_name=f"Minhang Supplier {i:02d}", branch=rm_a.branch
        )
    return {"party": party, "rm_a": rm_a, "rm_b": rm_b}


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/")


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    # Script errors and htmx's own error reports fail the test; the browser's network lines for 4xx
    # answers do not (the tests check those statuses themselves).
    tab.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert not problems, f"the browser reported errors: {problems}"


def test_rm_day_search_360_inline_forms_and_sign_out(
    live_server: Any, page: Any, book: dict[str, Any], screenshot_dir: Path
) -> None:
    base = live_server.url
    party: Party = book["party"]
    _sign_in(page, base, "rm_a")
    page.wait_for_selector("text=My day")
    _shot(page, screenshot_dir, "en-home")

    page.goto(f"{base}/parties/")
    page.wait_for_selector("table >> text=Minhang Supplier 00")
    _shot(page, screenshot_dir, "en-party-list")
    page.goto(f"{base}/")

    page.fill("#global-search", "港口")  # a two-character Chinese fragment
    hit = page.locator("#search-results a", has_text=CHINESE_NAME)
    hit.wait_for()
    hit.click()
    page.wait_for_url(f"{base}/parties/{party.pk}/")
    assert page.locator("h1").inner_text() == party.legal_name

    page.evaluate("window.loadedOnce = true")  # gone if anything below reloaded the page
    page.fill("#interaction-form [name=subject]", "Discussed the refinancing")
    page.select_option("#interaction-form [name=channel]", "site_visit")
    page.click("#interaction-form button[type=submit]")
    page.locator("#timeline-list li", has_text="Discussed the refinancing").wait_for()
    assert page.locator("#interaction-form [name=subject]").input_value() == ""  # a fresh form

    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    page.fill("#task-form [name=title]", "Send the term sheet")
    page.fill("#task-form [name=due_date]", due)
    page.click("#task-form button[type=submit]")
    page.locator("#open-tasks", has_text="Send the term sheet").wait_for()
    page.locator("#timeline-list li", has_text="Send the term sheet").wait_for()
    assert page.evaluate("window.loadedOnce === true")  # both forms worked without a page load

    page.fill("#task-form [name=title]", "")
    page.click("#task-form button[type=submit]")
    page.locator("#task-form .errorlist").wait_for()  # a 422 fragment with the field's message

    page.reload()  # what was added inline is really stored
    page.locator("#timeline-list li", has_text="Discussed the refinancing").wait_for()
    _shot(page, screenshot_dir, "en-party-360")

    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login/.*"))
    page.goto(f"{base}/parties/{party.pk}/")
    assert "/login/" in page.url


def test_an_rm_of_another_branch_cannot_reach_the_party(
    live_server: Any, page: Any, book: dict[str, Any]
) -> None:
    base = live_server.url
    party: Party = book["party"]
    _sign_in(page, base, "rm_b")
    response = page.goto(f"{base}/parties/{party.pk}/")
    assert response.status == 404
    assert party.legal_name not in page.content()
    page.goto(f"{base}/")
    page.fill("#global-search", "港口")
    page.locator("#search-results .hint").wait_for()
    assert CHINESE_NAME not in page.locator("#search-results").inner_text()
    page.fill("#global-search", "5493001KJTIIGC8Y1R12")
    page.locator("#search-results .hint", has_text="No party").wait_for()


def test_a_stale_edit_in_a_second_tab_is_refused(
    live_server: Any, browser: Any, book: dict[str, Any]
) -> None:
    base = live_server.url
    party: Party = book["party"]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    first = context.new_page()
    _sign_in(first, base, "rm_a")
    second = context.new_page()
    first.goto(f"{base}/parties/{party.pk}/edit/")
    second.goto(f"{base}/parties/{party.pk}/edit/")
    first.fill("#id_short_name", "Pujiang One")
    first.click("form.panel button[type=submit]")
    first.wait_for_url(f"{base}/parties/{party.pk}/")
    second.fill("#id_short_name", "Pujiang Two")
    second.click("form.panel button[type=submit]")
    second.locator("text=Someone else saved a change").wait_for()
    assert second.locator("#id_short_name").input_value() == "Pujiang One"
    assert "Pujiang Two" in second.locator(".notice.warn").inner_text()
    context.close()
    party.refresh_from_db()
    assert party.short_name == "Pujiang One"


def test_switching_to_chinese_shows_the_chinese_ui_everywhere(
    live_server: Any, page: Any, book: dict[str, Any], screenshot_dir: Path
) -> None:
    base = live_server.url
    party: Party = book["party"]
    _sign_in(page, base, "rm_a")
    page.click("button[lang=zh-hans]")
    page.wait_for_selector("text=我的一天")
    pages = {
        "zh-home": "/",
        "zh-party-list": "/parties/",
        "zh-party-360": f"/parties/{party.pk}/",
        "zh-party-edit": f"/parties/{party.pk}/edit/",
        "zh-tasks": "/tasks/?view=overdue",
    }
    for name, path in pages.items():
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == "zh-hans", path
        nav = page.locator("nav.mainnav").inner_text()
        assert "我的一天" in nav, path
        assert "My day" not in page.content(), path
        _shot(page, screenshot_dir, name)
    page.goto(f"{base}/parties/{party.pk}/")
    review = party.kyc_next_review
    assert f"{review.year}年{review.month}月{review.day}日" in page.locator(".pagehead").inner_text()
    page.click("button[lang=en]")
    page.wait_for_selector("text=My day")


def test_tablet_layout_and_the_admin_look_like_one_product(
    live_server: Any, browser: Any, book: dict[str, Any], admin_user: User, screenshot_dir: Path
) -> None:
    base = live_server.url
    party: Party = book["party"]
    tablet = browser.new_context(viewport={"width": 820, "height": 1180})
    page = tablet.new_page()
    _sign_in(page, base, "rm_a")
    page.goto(f"{base}/parties/{party.pk}/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0  # nothing runs off the side of a tablet screen
    _shot(page, screenshot_dir, "tablet-party-360")
    tablet.close()
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    admin_page = desk.new_page()
    _sign_in(admin_page, base, admin_user.username)
    admin_page.goto(f"{base}/admin/core/user/")
    admin_page.locator("#site-name", has_text="lendcrm").wait_for()
    _shot(admin_page, screenshot_dir, "en-admin-users")
    desk.close()
