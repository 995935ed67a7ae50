"""Workspace pages of the customer master: the list, its CSV export, the 360 page and the edit forms.
Reads go through the selectors and writes through the services, exactly as in the API."""

import csv
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers, require_customer_writer, sees_whole_book
from lendcrm.core.selectors import front_office, staff_names
from lendcrm.interactions import selectors as interaction_selectors
from lendcrm.interactions.forms import InteractionForm, TaskForm
from lendcrm.origination.party_panel import party_pipeline
from lendcrm.parties import selectors, services
from lendcrm.parties.forms import (
    EditContactForm,
    EditPartyForm,
    IdentifierForm,
    NewContactForm,
    NewPartyForm,
    PartyFilterForm,
    PartyForm,
    RelationshipForm,
)
from lendcrm.parties.models import Party
from lendcrm.parties.validation import NewContactPoint
from lendcrm.web.forms import show_refusal
from lendcrm.web.pages import Edit, acting_user, form_status, page_of, save_edit, workspace_view

TIMELINE_PAGE = 20
PICKER_HITS = 8
EXPORT_COLUMNS = (
    ("id", gettext_lazy("Id")),
    ("legal_name", gettext_lazy("Legal name")),
    ("local_name", gettext_lazy("Local-language name")),
    ("kind", gettext_lazy("Kind")),
    ("lifecycle", gettext_lazy("Lifecycle")),
    ("segment", gettext_lazy("Segment")),
    ("branch", gettext_lazy("Branch")),
    ("country", gettext_lazy("Country")),
    ("industry_code", gettext_lazy("Industry")),
    ("kyc_status", gettext_lazy("KYC status")),
    ("kyc_next_review", gettext_lazy("Next KYC review")),
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --- the list ---------------------------------------------------------------------------------------
def _filtered(request: HttpRequest) -> tuple[PartyFilterForm, Any]:
    """The list's filter form and the parties it selects (nothing when the filters are invalid)."""
    user = acting_user(request)
    form = PartyFilterForm(request.GET or None)
    cast(forms.ChoiceField, form.fields["ordering"]).choices = [(o, o) for o in selectors.PARTY_ORDERINGS]
    # A scoped RM filters by the RMs of their own branch; the whole book lists every RM.
    cast(forms.ModelChoiceField, form.fields["rm"]).queryset = front_office(
        branch_id=None if sees_whole_book(user) else user.branch_id
    )
    if form.is_bound and not form.is_valid():
        return form, Party.objects.none()
    data = form.cleaned_data if form.is_bound else {}
    branch, rm = data.get("branch"), data.get("rm")
    qs = selectors.party_list(
        viewer=user,
        branch=branch.code if branch else "",
        kind=data.get("kind", ""),
        segment=data.get("segment", ""),
        lifecycle=data.get("lifecycle", ""),
        country=data.get("country", ""),
        industry_code=data.get("industry_code", ""),
        kyc_status=data.get("kyc_status", ""),
        rm=rm.pk if rm else None,
        ordering=data.get("ordering") or "legal_name",
    )
    days = data.get("kyc_due")
    due_by = timezone.localdate() + timedelta(days=days) if days is not None else None
    qs = selectors.narrowed(qs, viewer=user, covered_by_me=data.get("covered") == "me", kyc_due_by=due_by)
    return form, qs


@require_GET
@workspace_view
def party_list(request: HttpRequest) -> HttpResponse:
    form, qs = _filtered(request)
    page = page_of(request, qs.prefetch_related(None))  # the list shows no identifiers
    leads = staff_names(getattr(p, "lead_rm_id", None) for p in page.object_list)
    rows = [(p, leads.get(p.lead_rm_id, "")) for p in page.object_list]
    current = form.cleaned_data.get("ordering") if form.is_bound and form.is_valid() else ""
    context = {
        "section": "parties",
        "form": form,
        "page": page,
        "rows": rows,
        "ordering": current or "legal_name",
        "rms": cast(forms.ModelChoiceField, form.fields["rm"]).queryset,
    }
    invalid = form.is_bound and not form.is_valid()
    return render(request, "parties/list.html", context, status=400 if invalid else 200)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@require_GET
@workspace_view
def party_export(request: HttpRequest) -> HttpResponseBase:
    """The current filter as CSV: profile columns only (no birth dates or contact data), audited."""
    form, qs = _filtered(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("The filters are not valid."), status=400, content_type="text/plain")
    services.record_party_export(
        actor=acting_user(request), filters={k: str(v) for k, v in request.GET.items() if k != "page"}
    )

    def lines() -> Iterator[str]:
        buffer = _Echo()
        writer = csv.writer(buffer)
        yield "\ufeff" + writer.writerow([str(label) for _name, label in EXPORT_COLUMNS])
        for party in qs.iterator(chunk_size=2000):
            row = [
                party.pk,
                party.legal_name,
                party.local_name,
                party.get_kind_display(),
                party.get_lifecycle_display(),
                party.get_segment_display() if party.segment else "",
                party.branch.code,
                party.country,
                party.industry_code,
                party.get_kyc_status_display(),
                party.kyc_next_review.isoformat() if party.kyc_next_review else "",
            ]
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="parties.csv"'
    return response


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


# --- the 360 page -----------------------------------------------------------------------------------
def inline_forms(user: Any, contacts: list[Any], coverage: list[Any], **bound: Any) -> dict[str, Any]:
    """The inline interaction and task forms of the 360 page (bound when re-shown with errors)."""
    return {
        "interaction_form": bound.get("interaction_form") or InteractionForm(contacts=contacts),
        "task_form": bound.get("task_form") or TaskForm(assignees=assignees(user, coverage)),
    }


def assignees(user: Any, coverage: list[Any]) -> list[Any]:
    """Who a task on this party may go to from this page: me and the party's coverage."""
    people = {user.pk: user}
    for cover in coverage:
        people.setdefault(cover.user.pk, cover.user)
    return list(people.values())


def render_360(request: HttpRequest, pk: object, *, status: int = 200, **bound: Any) -> HttpResponse:
    """The 360 page, with the inline forms bound when they are shown again with errors."""
    user = acting_user(request)
    view = selectors.customer_360(viewer=user, party_id=pk)
    page = interaction_selectors.timeline(viewer=user, party=view.party, limit=TIMELINE_PAGE)
    names = staff_names([e.actor for e in page.entries] + [c.user_id for c in view.coverage])
    context = {
        "section": "parties",
        "view": view,
        "party": view.party,
        "tree": selectors.group_tree(viewer=user, party=view.party),
        "timeline": page,
        "names": names,
        "lead": next((c.user for c in view.coverage if c.role == "lead"), None),
        "pipeline": party_pipeline(viewer=user, party_id=view.party.pk),
        "may_write": may_write_customers(user),
        "today": timezone.localdate(),
        **inline_forms(user, view.contacts, view.coverage, **bound),
    }
    return render(request, "parties/party_360.html", context, status=status)


@require_GET
@workspace_view
def party_360(request: HttpRequest, pk: int) -> HttpResponse:
    return render_360(request, pk)


@require_GET
@workspace_view
def party_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The next page of the timeline, for infinite scroll."""
    user = acting_user(request)
    party = selectors.get_party(viewer=user, party_id=pk)
    try:
        page = interaction_selectors.timeline(
            viewer=user, party=party, cursor=request.GET.get("cursor") or None, limit=TIMELINE_PAGE
        )
    except errors.ValidationFailed:
        return HttpResponse(
            _("This is not a cursor from a previous page."), status=400, content_type="text/plain"
        )
    names = staff_names(e.actor for e in page.entries)
    return render(
        request, "parties/_timeline_entries.html", {"party": party, "timeline": page, "names": names}
    )


# --- create and edit --------------------------------------------------------------------------------
def writable_party(request: HttpRequest, pk: object) -> tuple[Any, Party]:
    """The acting user, who must be allowed to change customer data, and the party they may see."""
    user = acting_user(request)
    require_customer_writer(user)
    return user, selectors.get_party(viewer=user, party_id=pk)


@require_http_methods(["GET", "POST"])
@workspace_view
def party_create(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    form = NewPartyForm(request.POST or None, initial={"branch": user.branch_id})
    if request.method == "POST" and form.is_valid():
        try:
            party = services.create_party(actor=user, identifiers=form.identifier_pairs(), **form.profile())
        except errors.DomainError as exc:
            show_refusal(form, exc, {**form.aliases, **form.identifier_aliases()})
        else:
            messages.success(request, _("%(name)s was created.") % {"name": party.legal_name})
            return redirect("ui:party-360", pk=party.pk)
    context = {"section": "parties", "form": form, "party": None}
    return render(request, "parties/party_form.html", context, status=form_status(form))


@require_http_methods(["GET", "POST"])
@workspace_view
def party_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    party = selectors.get_party_detail(viewer=user, party_id=pk)
    form = EditPartyForm(request.POST or None, initial=PartyForm.initial_for(party))
    edit = Edit(form)
    if request.method == "POST" and form.is_valid():
        edit = save_edit(
            form,
            lambda: services.update_party(
                actor=user, party=party, expected_version=form.cleaned_data["version"], **form.profile()
            ),
            lambda: PartyForm.initial_for(selectors.get_party_detail(viewer=user, party_id=pk)),
            form.aliases,
        )
        if edit.saved:
            messages.success(request, _("Your changes were saved."))
            return redirect("ui:party-360", pk=party.pk)
    context = {"section": "parties", "form": edit.form, "party": party, "stale": edit.stale}
    return render(request, "parties/party_form.html", context, status=edit.status)


@require_http_methods(["GET", "POST"])
@workspace_view
def identifier_add(request: HttpRequest, pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    form = IdentifierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_identifier(actor=user, party=party, **form.cleaned_data)
        except errors.DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The identifier was added."))
            return redirect("ui:party-360", pk=party.pk)
    return _small_form(request, party, form, _("Add an identifier"))


def _small_form(request: HttpRequest, party: Party, form: Any, title: str, **extra: Any) -> HttpResponse:
    """A one-panel form page; 400 when shown again with errors, 409 after a stale edit."""
    context = {"section": "parties", "party": party, "form": form, "title": title, **extra}
    status = 409 if extra.get("stale") is not None else form_status(form)
    return render(request, "parties/small_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_view
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    form = NewContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        points = [NewContactPoint("email", data["email"], is_preferred=True)] if data["email"] else []
        if data["phone"]:
            points.append(NewContactPoint("phone", data["phone"], is_preferred=True))
        try:
            services.create_contact(
                actor=user,
                party=party,
                role=data["role"],
                ownership_pct=data["ownership_pct"],
                points=points,
                **form.person(),
            )
        except errors.DomainError as exc:
            show_refusal(form, exc, form.aliases)
        else:
            messages.success(request, _("The contact was added."))
            return redirect("ui:party-360", pk=party.pk)
    return _small_form(request, party, form, _("Add a contact"))


@require_http_methods(["GET", "POST"])
@workspace_view
def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    contact = selectors.get_contact(viewer=user, contact_id=contact_pk)
    if not any(role.party_id == party.pk for role in contact.roles.all()):
        raise errors.NotFound()
    form = EditContactForm(request.POST or None, initial=_contact_values(contact))
    edit = Edit(form)
    if request.method == "POST" and form.is_valid():
        edit = save_edit(
            form,
            lambda: services.update_contact(
                actor=user, contact=contact, expected_version=form.cleaned_data["version"], **form.person()
            ),
            lambda: _contact_values(selectors.get_contact(viewer=user, contact_id=contact_pk)),
        )
        if edit.saved:
            messages.success(request, _("Your changes were saved."))
            return redirect("ui:party-360", pk=party.pk)
    return _small_form(request, party, edit.form, _("Edit contact"), stale=edit.stale)


def _contact_values(contact: Any) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in EditContactForm.base_fields}


@require_http_methods(["GET", "POST"])
@workspace_view
def relationship_create(request: HttpRequest, pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    form = RelationshipForm(request.POST or None)
    other: Party | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            other = selectors.get_party(viewer=user, party_id=data["other_party"])
            source, target = (party, other) if data["direction"] == form.OUTGOING else (other, party)
            services.create_relationship(
                actor=user,
                from_party=source,
                to_party=target,
                kind=data["kind"],
                ownership_pct=data["ownership_pct"],
                note=data["note"],
            )
        except errors.NotFound:
            form.add_error("other_party", _("Choose a party from the search results."))
        except errors.DomainError as exc:
            show_refusal(form, exc, form.aliases)
        else:
            messages.success(request, _("The link was added."))
            return redirect("ui:party-360", pk=party.pk)
    return _small_form(request, party, form, _("Link to another party"), picker=True, picked=other)


@require_POST
@workspace_view
def party_picker(request: HttpRequest, pk: int) -> HttpResponse:
    """Search results to choose the other end of a link from (POST: names stay out of URLs)."""
    user = acting_user(request)
    party = selectors.get_party(viewer=user, party_id=pk)
    term = request.POST.get("q", "").strip()[:100]
    hits = (
        list(selectors.party_list(viewer=user, search=term).exclude(pk=party.pk)[:PICKER_HITS])
        if term
        else []
    )
    return render(request, "parties/_picker.html", {"hits": hits, "term": term})


@require_POST
@workspace_view
def relationship_delete(request: HttpRequest, pk: int, rel_pk: int) -> HttpResponse:
    user, party = writable_party(request, pk)
    rel = selectors.get_relationship(viewer=user, relationship_id=rel_pk)
    if party.pk not in (rel.from_party_id, rel.to_party_id):
        raise errors.NotFound()
    services.delete_relationship(actor=user, relationship=rel)
    messages.success(request, _("The link was removed."))
    return redirect(reverse("ui:party-360", kwargs={"pk": party.pk}))
