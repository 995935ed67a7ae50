"""Workspace pages for interactions and tasks: the inline forms of the 360 page and the task list."""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.selectors import front_office, staff_names
from lendcrm.interactions import selectors, services
from lendcrm.interactions.forms import EditTaskForm, InteractionForm, ReassignForm, TaskFilterForm, TaskForm
from lendcrm.interactions.models import Task
from lendcrm.parties import selectors as party_selectors
from lendcrm.parties.views import assignees, render_360, writable_party
from lendcrm.web.forms import show_refusal
from lendcrm.web.pages import Edit, acting_user, form_status, page_of, save_edit, workspace_view

INVALID = 422  # the inline forms come back with their errors; htmx swaps 422 responses (see base.html)


def _inline_result(
    request: HttpRequest, party_id: int, template: str, context: dict[str, Any], *, ok: bool
) -> HttpResponse:
    """HTMX gets the form fragment (fresh after success, with errors otherwise); a plain POST gets the
    360 page again (after success, by redirect, so a reload does not post twice)."""
    if request.headers.get("HX-Request"):
        return render(request, template, context, status=200 if ok else INVALID)
    if ok:
        return redirect("ui:party-360", pk=party_id)
    bound = {k: v for k, v in context.items() if k in ("interaction_form", "task_form")}
    return render_360(request, party_id, status=INVALID, **bound)


@require_POST
@workspace_view
def interaction_create(request: HttpRequest, pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    contacts = party_selectors.party_contacts(viewer=user, party=party)
    form = InteractionForm(request.POST, contacts=contacts)
    logged = None
    if form.is_valid():
        data = form.cleaned_data
        contact_id = data.pop("contact")
        try:
            contact = selectors.contact_at_party(party=party, contact_id=contact_id) if contact_id else None
            logged, _created = services.log_interaction(actor=user, party=party, contact=contact, **data)
        except errors.DomainError as exc:
            show_refusal(form, exc)
    if logged is not None:
        form = InteractionForm(contacts=contacts)
    context = {"party": party, "interaction_form": form, "logged": logged, "names": staff_names([user.pk])}
    return _inline_result(
        request, party.pk, "interactions/_interaction_form.html", context, ok=logged is not None
    )


@require_POST
@workspace_view
def task_create(request: HttpRequest, pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    people = assignees(user, party_selectors.party_coverage(viewer=user, party=party))
    form = TaskForm(request.POST, assignees=people)
    task = None
    if form.is_valid():
        try:
            task = services.create_task(actor=user, party=party, **form.cleaned_data)
        except errors.DomainError as exc:
            show_refusal(form, exc)
    context: dict[str, Any] = {"party": party, "task_form": form, "task": task}
    if task is not None:
        context["task_form"] = TaskForm(assignees=people)
        context["open_tasks"] = selectors.open_tasks_for_party(viewer=user, party=party)
        context["names"] = staff_names([user.pk])
    return _inline_result(request, party.pk, "interactions/_task_form.html", context, ok=task is not None)


# --- the task list ------------------------------------------------------------------------------------
@require_GET
@workspace_view
def task_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = TaskFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    view = (form.cleaned_data.get("view") if form.is_bound and not invalid else "") or TaskFilterForm.MINE
    if invalid:
        tasks = selectors.my_open_tasks(viewer=user).none()
    elif view == TaskFilterForm.TEAM:
        tasks = selectors.team_tasks(viewer=user)
    elif view == TaskFilterForm.OVERDUE:
        tasks = selectors.overdue_tasks(viewer=user)
    else:
        tasks = selectors.my_open_tasks(viewer=user)
    page = page_of(request, tasks.select_related("party", "assignee"))
    context = {
        "section": "tasks",
        "view": view,
        "views": cast(forms.ChoiceField, TaskFilterForm.base_fields["view"]).choices,
        "page": page,
        "colleagues": _colleagues(user),
        "form": form,
    }
    return render(request, "interactions/tasks.html", context, status=form_status(form))


def _colleagues(user: Any) -> Any:
    return front_office(branch_id=user.branch_id)


def _back(request: HttpRequest) -> HttpResponse:
    """Back to where the action was taken: a local path only, never another site."""
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = "/tasks/"
    return redirect(target)


def _task_action(request: HttpRequest, act: Callable[[], object], done: str) -> HttpResponse:
    """Run a one-click task action and say how it went, back on the page it came from."""
    try:
        act()
    except errors.PreconditionFailed:
        messages.error(
            request, _("Someone changed this task since you opened the page; look again and retry.")
        )
    except errors.DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done)
    return _back(request)


@require_POST
@workspace_view
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    task = selectors.get_task(viewer=user, task_id=pk)
    raw = request.POST.get("version", "")
    version = int(raw) if raw.isdigit() else None
    return _task_action(
        request,
        lambda: services.complete_task(actor=user, task=task, expected_version=version),
        _("Task done: %(title)s") % {"title": task.title},
    )


@require_POST
@workspace_view
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    task = selectors.get_task(viewer=user, task_id=pk)
    form = ReassignForm(request.POST, colleagues=_colleagues(user))
    if not form.is_valid():
        messages.error(request, _("Choose a colleague to hand the task to."))
        return _back(request)
    data = form.cleaned_data
    return _task_action(
        request,
        lambda: services.reassign_task(
            actor=user, task=task, assignee=data["assignee"], expected_version=data["version"]
        ),
        _("Task handed over: %(title)s") % {"title": task.title},
    )


@require_http_methods(["GET", "POST"])
@workspace_view
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    task = selectors.get_task(viewer=user, task_id=pk)
    form = EditTaskForm(request.POST or None, initial=_task_values(task))
    edit = Edit(form)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        edit = save_edit(
            form,
            lambda: services.update_task(actor=user, task=task, expected_version=version, **data),
            lambda: _task_values(selectors.get_task(viewer=user, task_id=pk)),
        )
        if edit.saved:
            messages.success(request, _("Your changes were saved."))
            return redirect("ui:party-360", pk=task.party_id)
    context = {"section": "tasks", "form": edit.form, "task": task, "stale": edit.stale}
    return render(request, "interactions/task_form.html", context, status=edit.status)


def _task_values(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "kind": task.kind,
        "due_date": task.due_date,
        "status": task.status,
        "description": task.description,
        "version": task.version,
    }
