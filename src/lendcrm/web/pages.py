"""What every workspace view shares: service refusals become pages, stale edits keep what was typed."""

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponseBase

from lendcrm.core import errors
from lendcrm.core.models import User

PAGE_SIZE = 50


def workspace_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Out-of-scope objects are 404 here as in the API; a role that may not act gets 403."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as exc:
            raise Http404 from exc
        except errors.PermissionDenied as exc:
            raise PermissionDenied(exc.detail) from exc

    return wrapped


def acting_user(request: HttpRequest) -> User:
    """The signed-in member of staff (the login middleware has made sure there is one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def page_of(request: HttpRequest, rows: Any, per_page: int = PAGE_SIZE) -> Page:
    """One page of a list; a page number out of range shows the last page rather than an error."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def entered_values(form: forms.Form, current: dict[str, Any]) -> list[tuple[str, str]]:
    """What the person typed that differs from the current values: shown after a stale edit is refused,
    so nothing they typed is lost."""
    if not form.is_bound:
        return []
    out = []
    for name, field in form.fields.items():
        if name == "version" or name not in form.data:
            continue
        typed = str(form.data.get(name, "")).strip()
        now = current.get(name)
        now_text = "" if now is None else str(getattr(now, "pk", now))
        if typed != now_text:
            out.append((str(field.label or name), typed))
    return out
