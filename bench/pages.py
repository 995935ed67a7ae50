"""The workspace pages, timed in-process as the busiest RM would open them (a signed-in session, the
whole middleware stack, the template rendered), with their queries counted.

Called from the `api` phase on the same seeded database; the 360 page is compared with the same raw
360 reads the API is compared with (the page reads more: the group tree and a timeline page)."""

import random
from collections.abc import Callable
from typing import Any

from phases import _random_ids, _time_calls, say, summary_ms

PAGE_REQUESTS = 100


def _session(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _ok(client: Any, method: str, url: str, data: dict[str, str] | None = None) -> Any:
    response = getattr(client, method)(url, data or {})
    if response.status_code != 200:
        raise SystemExit(f"{method.upper()} {url} answered {response.status_code}")
    return response


def _queries(call: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def measure_pages(args: Any, rm: Any, terms: list[str]) -> dict[str, Any]:
    """p50/p95 of each page and, for the list and the 360 page, the query count on every request."""
    from lendcrm.parties.models import Party

    rng = random.Random(args.seed * 31 + 5)
    client = _session(rm)
    visible = Party.objects.filter(branch=rm.branch).order_by("id").values_list("id", flat=True)
    pool = list(visible[:5000])
    party_ids = [pool[i % len(pool)] for i in _random_ids(rng, 0, len(pool) - 1, PAGE_REQUESTS)]
    list_pages = [rng.randint(1, 40) for _ in range(PAGE_REQUESTS)]
    urls: dict[str, Callable[[int], Any]] = {
        "home": lambda _i: _ok(client, "get", "/"),
        "party_list": lambda i: _ok(client, "get", f"/parties/?page={list_pages[i]}"),
        "party_list_filtered": lambda i: _ok(
            client, "get", f"/parties/?kind=sme&ordering=-updated_at&page={list_pages[i] % 5 + 1}"
        ),
        "party_360": lambda i: _ok(client, "get", f"/parties/{party_ids[i]}/"),
        "search": lambda i: _ok(client, "post", "/search/", {"q": terms[i % len(terms)]}),
        "tasks": lambda _i: _ok(client, "get", "/tasks/?view=mine"),
    }
    for call in urls.values():  # warm-up: templates compiled, caches filled
        for i in range(5):
            call(i)
    out: dict[str, Any] = {"requests": PAGE_REQUESTS, "user": rm.username}
    for name, call in urls.items():
        say(f"page {name}: {PAGE_REQUESTS} requests")
        out[name] = summary_ms(_time_calls(call, range(PAGE_REQUESTS)))
    for name in ("party_list", "party_360"):
        counts = [_queries(lambda i=i, name=name: urls[name](i)) for i in range(0, PAGE_REQUESTS, 5)]
        out[name].update(queries_min=min(counts), queries_max=max(counts))
    return out
