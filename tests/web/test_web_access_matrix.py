"""Every workspace page that takes an id, opened by an RM of another branch: 404, no data, nothing
changed. Routes come from the URL resolver, so a new page is covered the day it is added."""

from typing import Any

import pytest
from django.urls import get_resolver

from lendcrm.core.models import User
from tests.contract.test_access_matrix import SECRET_NAME, _database_digest, _routes

pytestmark = pytest.mark.django_db

PARAMS = {"<int:pk>": None, "<int:contact_pk>": "contact", "<int:rel_pk>": "relationship"}


def page_routes() -> list[str]:
    return [
        route
        for route, _view in _routes(get_resolver().url_patterns)
        if "<int:" in route and not route.startswith(("api/", "admin/"))
    ]


# The object a page's first id names, by the page's path prefix (parties by default).
MAIN_OBJECT = {
    "tasks/": "task",
    "pipeline/leads/": "lead",
    "pipeline/opportunities/": "opportunity",
    "pipeline/proposals/": "proposal",
    "applications/": "application",
    "offers/": "offer",
    "facilities/": "facility",
    "classification-requests/": "classification_request",
    "restructurings/": "restructuring",
    "covenants/": "covenant",
    "covenant-tests/": "covenant_test",
    "projects/": "project",
    "watchlist/": "watch_entry",
    "signals/": "signal",
    "reviews/": "review",
}


def _path(route: str, objects: dict[str, int]) -> str:
    main = next((name for prefix, name in MAIN_OBJECT.items() if route.startswith(prefix)), "party")
    path = route.replace("<int:pk>", str(objects[main]))
    for param, name in PARAMS.items():
        if name is not None:
            path = path.replace(param, str(objects[name]))
    assert "<" not in path, f"a new id parameter in {route}: teach this test its object"
    return "/" + path


def test_the_matrix_covers_the_workspace_pages() -> None:
    routes = set(page_routes())
    assert {"parties/<int:pk>/", "parties/<int:pk>/edit/", "tasks/<int:pk>/complete/"} <= routes
    assert len(routes) >= 13


@pytest.mark.parametrize("route", page_routes())
def test_other_branch_gets_404_and_changes_nothing(
    route: str, branch_a_objects: dict[str, int], rm_b: User, web: Any
) -> None:
    client = web(rm_b)
    path = _path(route, branch_a_objects)
    before = _database_digest()
    statuses = []
    for method in ("get", "post"):
        response = getattr(client, method)(path, {"q": "pudong", "version": 1, "subject": "x"})
        statuses.append(response.status_code)
        assert response.status_code in (404, 405), (method, path, response.status_code)
        assert "Secret" not in response.content.decode()
    assert 404 in statuses
    assert _database_digest() == before


def test_search_never_shows_another_branch(
    branch_a_objects: dict[str, int], rm_b: User, rm_a: User, web: Any
) -> None:
    assert SECRET_NAME not in web(rm_b).post("/search/", {"q": "Secret"}).content.decode()
    assert SECRET_NAME not in web(rm_b).post("/search/", {"q": "浦东机密"}).content.decode()
    assert SECRET_NAME in web(rm_a).post("/search/", {"q": "浦东机密"}).content.decode()
    assert SECRET_NAME in web(rm_a).post("/search/", {"q": "5493001KJTIIGC8Y1R12"}).content.decode()


def test_search_wants_two_characters(rm_a: User, web: Any) -> None:
    body = web(rm_a).post("/search/", {"q": "a"}).content.decode()
    assert "Type at least two characters" in body
    assert "/parties/" not in body
