"""The draft application's edit page: its purpose, requested facilities and other parties, saved through
`update_application` at the version the page was read at, so a stale edit is 409 and keeps what was typed."""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.origination import selectors, services
from lendcrm.origination.forms import OTHER_ROLES, EditApplicationForm, facility_formset, other_parties
from lendcrm.origination.models import Application, PartyRole, Status
from lendcrm.origination.services.applications import require_maker_side
from lendcrm.origination.terms import TERM_FIELDS
from lendcrm.origination.views import (
    FACILITIES,
    STALE,
    _formset,
    _kept,
    _place,
    _visible,
    refusal_status,
    render_detail,
)
from lendcrm.web.pages import acting_user, entered_values, workspace_view

HUNDRED = Decimal(100)
CENTS = Decimal("0.01")


def facility_values(application: Application) -> list[dict[str, Any]]:
    """The facility forms' values for a draft's facilities (LGD in percent, as it is typed)."""
    return [
        {
            **{name: getattr(f, name) for name in TERM_FIELDS},
            "product": f.product.code,
            "lgd_pct": (f.lgd * HUNDRED).quantize(CENTS),
        }
        for f in application.facilities.all()
    ]


def others_of(application: Application) -> list[tuple[Any, str]]:
    """The parties besides the borrower, as the picker shows them chosen: (party, role)."""
    return [(p.party, p.role) for p in application.parties.all() if p.role != PartyRole.BORROWER]


def _not_draft(request: HttpRequest, application: Application) -> HttpResponse:
    return render_detail(
        request, application.pk, status=STALE, refusal=_("Only a draft application can be edited.")
    )


def _summary(rows: list[dict[str, Any]]) -> str:
    """Facilities in a line each person can compare: product, amount, currency, tenor."""
    keys = ("product", "amount", "currency", "tenor_months")
    return "; ".join(" ".join(str(row.get(key, "")) for key in keys) for row in rows)


def _typed(
    form: EditApplicationForm,
    kept: list[Any],
    chosen: list[tuple[int, str]],
    user: User,
    current: Application,
) -> list[tuple[str, str]]:
    """What the person typed that differs from the application as it now stands, field by field."""
    typed = entered_values(form, {"purpose": current.purpose})
    facilities = [f.terms() for f in kept]
    if _summary(facilities) != _summary(facility_values(current)):
        typed.append((_("Requested facilities"), _summary(facilities)))
    if sorted(chosen) != sorted((party.pk, role) for party, role in others_of(current)):
        names = _visible(user, [pk for pk, _role in chosen])
        roles = dict(OTHER_ROLES)
        typed.append(
            (
                _("Other parties"),
                "; ".join(f"{names[pk].legal_name} ({roles[role]})" for pk, role in chosen if pk in names),
            )
        )
    return typed


def _render(
    request: HttpRequest,
    application: Application,
    *,
    form: EditApplicationForm,
    formset: Any,
    others: list[tuple[Any, str]],
    party_problems: list[str] | None = None,
    stale: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "section": "applications",
        "application": application,
        "borrower": application.borrower,
        "form": form,
        "formset": formset,
        "others": others,
        "roles": OTHER_ROLES,
        "party_problems": party_problems or [],
        "stale": stale,
    }
    return render(request, "origination/application_edit.html", context, status=status)


def _current(application: Application) -> dict[str, Any]:
    """The page's forms showing the application as it stands."""
    return {
        "form": EditApplicationForm(initial={"purpose": application.purpose, "version": application.version}),
        "formset": facility_formset(prefix=FACILITIES, initial=facility_values(application)),
        "others": others_of(application),
    }


@require_http_methods(["GET", "POST"])
@workspace_view
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's purpose, facilities and other parties; the RM's side only (403), drafts only (409)."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    require_maker_side(user, application)
    if application.status != Status.DRAFT:
        return _not_draft(request, application)
    if request.method != "POST":
        return _render(request, application, **_current(application))
    form = EditApplicationForm(request.POST)
    formset = _formset(request)
    chosen, party_problems = other_parties(request.POST)
    status = 200
    if "add_facility" not in request.POST:
        status = 400
        ok = form.is_valid() & all(f.is_valid() for f in formset.forms)
        if ok and formset.management_form.is_valid() and not party_problems:
            kept = _kept(formset)
            try:
                services.update_application(
                    actor=user,
                    application_id=application.pk,
                    changes={
                        "purpose": form.cleaned_data["purpose"],
                        "facilities": [f.terms() for f in kept],
                        "parties": [{"party": party, "role": role} for party, role in chosen],
                    },
                    expected_version=form.cleaned_data["version"],
                )
            except errors.PreconditionFailed:
                current = selectors.get_application(viewer=user, application_id=pk)
                if current.status != Status.DRAFT:
                    return _not_draft(request, current)
                typed = _typed(form, kept, chosen, user, current)
                return _render(request, current, **_current(current), stale=typed, status=STALE)
            except errors.DomainError as exc:
                _place(exc, form, kept, party_problems)
                status = refusal_status(exc)
            else:
                messages.success(request, _("Your changes were saved."))
                return redirect("ui:application-detail", pk=application.pk)
    known = _visible(user, [party for party, _role in chosen])
    others = [(known[party], role) for party, role in chosen if party in known]
    return _render(
        request,
        application,
        form=form,
        formset=formset,
        others=others,
        party_problems=party_problems,
        status=status,
    )
