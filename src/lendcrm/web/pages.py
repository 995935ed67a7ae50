"""What every workspace view shares: service refusals become pages, stale edits keep what was typed."""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponseBase

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.web.forms import show_refusal

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


def form_status(form: forms.Form) -> int:
    """400 for a form shown again with errors (bad input is a 4xx on pages too), else 200."""
    return 400 if form.is_bound and form.errors else 200


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


@dataclass
class Edit:
    """The outcome of saving an edit form: saved, refused on its fields, or stale (`stale` then lists
    what the person typed, and `form` shows the current values)."""

    form: forms.Form
    saved: bool = False
    stale: list[tuple[str, str]] | None = None

    @property
    def status(self) -> int:
        if self.stale is not None:
            return 409
        return form_status(self.form)


def save_edit(
    form: forms.Form,
    save: Callable[[], object],
    current: Callable[[], dict[str, Any]],
    aliases: Mapping[str, str] | None = None,
) -> Edit:
    """Run `save` (a service call that checks the version the form was read at). A stale version
    re-reads the object with `current` and shows it in a fresh form of the same class; any other
    refusal goes onto the form's fields."""
    try:
        save()
    except errors.PreconditionFailed:
        now = current()
        return Edit(type(form)(initial=now), stale=entered_values(form, now))
    except errors.DomainError as exc:
        show_refusal(form, exc, aliases)
        return Edit(form)
    return Edit(form, saved=True)
