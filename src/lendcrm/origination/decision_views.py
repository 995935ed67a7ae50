"""Workspace pages after the credit memo: decisions and committee votes on the application page,
conditions of approval, offers (issue, the printable letter, acceptance) and the approver's queue."""

from typing import Any

from django.contrib import messages
from django.db.models import Field
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers
from lendcrm.origination import authority, selectors, services
from lendcrm.origination.forms import ConditionForm, DecisionForm, OfferForm, VoteForm, WithdrawOfferForm
from lendcrm.origination.models import (
    ApplicationFacility,
    ConditionKind,
    ConditionStatus,
    Offer,
    OfferStatus,
    Outcome,
)
from lendcrm.origination.services import decisions as decision_services
from lendcrm.origination.terms import TERM_FIELDS
from lendcrm.origination.views import (
    act,
    posted_version,
    product_names,
    refusal_status,
    refusal_text,
    render_detail,
    timed_rows,
)
from lendcrm.parties import selectors as party_selectors
from lendcrm.pipeline.models import Product
from lendcrm.web.pages import acting_user, page_of, workspace_view


# --- decisions, votes and conditions --------------------------------------------------------------
@require_POST
@workspace_view
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """An approver's decision: 403 beyond their authority or for the maker, 409 when not awaiting one."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return render_detail(request, pk, status=400, decision_form=form)
    data = form.cleaned_data
    return act(
        request,
        application.pk,
        lambda: decision_services.decide(
            actor=user,
            application_id=application.pk,
            outcome=data["outcome"],
            comment=data["comment"],
            conditions=form.condition_texts(),
            expected_version=data["version"],
        ),
        _("Your decision was recorded: %(outcome)s.") % {"outcome": Outcome(data["outcome"]).label},
        form_key="decision_form",
        form=form,
    )


@require_POST
@workspace_view
def application_vote(request: HttpRequest, pk: int) -> HttpResponse:
    """A committee member's vote in the current round."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = VoteForm(request.POST)
    if not form.is_valid():
        return render_detail(request, pk, status=400, vote_form=form)
    data = form.cleaned_data
    return act(
        request,
        application.pk,
        lambda: decision_services.cast_vote(
            actor=user,
            application_id=application.pk,
            vote=data["vote"],
            comment=data["comment"],
            expected_version=posted_version(request),
        ),
        _("Your vote was recorded."),
        form_key="vote_form",
        form=form,
    )


@require_POST
@workspace_view
def condition_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a condition met (with the evidence) or waive it (with the reason)."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = ConditionForm(request.POST)
    if not form.is_valid():
        return render_detail(request, pk, status=400, condition_form=form)
    data = form.cleaned_data
    status = ConditionStatus.MET if data["action"] == ConditionForm.MET else ConditionStatus.WAIVED
    return act(
        request,
        application.pk,
        lambda: decision_services.resolve_condition(
            actor=user,
            condition_id=data["condition"],
            status=status,
            note=data["note"],
            application_id=application.pk,
        ),
        _("The condition was marked met.")
        if status == ConditionStatus.MET
        else _("The condition was waived."),
        form_key="condition_form",
        form=form,
    )


# --- offers ---------------------------------------------------------------------------------------
@require_POST
@workspace_view
def offer_issue(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = OfferForm(request.POST)
    if not form.is_valid():
        return render_detail(request, pk, status=400, offer_form=form)
    made: list[Offer] = []
    response = act(
        request,
        application.pk,
        lambda: made.append(
            services.issue_offer(
                actor=user, application_id=application.pk, expires_on=form.cleaned_data["expires_on"]
            )
        ),
        _("The offer was issued."),
        form_key="offer_form",
        form=form,
    )
    return redirect("ui:offer-detail", pk=made[0].pk) if made else response


def offer_terms_view(offer: Offer) -> dict[str, Any]:
    """The offer's terms snapshot as unsaved facility rows, so the letter shows them exactly as the
    application page does (products and choices in the reader's language); one query for products."""
    terms = offer.terms or {}
    rows = terms.get("facilities", [])
    products = {p.code: p for p in Product.objects.filter(code__in=[f.get("product") for f in rows])}
    fields = {name: ApplicationFacility._meta.get_field(name) for name in TERM_FIELDS}
    facilities = []
    for row in rows:
        values = {
            name: field.to_python(row[name])
            for name, field in fields.items()
            if isinstance(field, Field) and row.get(name) is not None
        }
        facilities.append(ApplicationFacility(product=products.get(row.get("product")), **values))
    kinds = dict(ConditionKind.choices)
    conditions = [
        {**c, "kind_label": kinds.get(c.get("kind"), c.get("kind"))} for c in terms.get("conditions", [])
    ]
    return {"facilities": facilities, "conditions": conditions}


def render_offer(
    request: HttpRequest, pk: object, *, status: int = 200, refusal: str = "", withdraw_form: Any = None
) -> HttpResponse:
    """The offer letter, with the withdrawal form bound when it comes back with errors."""
    user = acting_user(request)
    offer = selectors.get_offer(viewer=user, offer_id=pk)
    application = offer.application
    live = offer.status == OfferStatus.ISSUED and (
        user.pk == application.owner_id or may_write_customers(user)
    )
    context = {
        "section": "applications",
        "offer": offer,
        "application": application,
        "borrower": party_selectors.get_party(viewer=user, party_id=application.borrower_id),
        "terms": offer_terms_view(offer),
        "may_accept": live,
        "may_withdraw": live,
        "withdraw_form": withdraw_form or WithdrawOfferForm(initial={"version": offer.version}),
        "refusal": refusal,
    }
    return render(request, "origination/offer_detail.html", context, status=status)


@require_GET
@workspace_view
def offer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The offer letter: the approved terms and conditions, printable, in the reader's language."""
    return render_offer(request, pk)


@require_POST
@workspace_view
def offer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer accepted: the application moves to offer accepted."""
    user = acting_user(request)
    offer = selectors.get_offer(viewer=user, offer_id=pk)
    try:
        services.accept_offer(actor=user, offer_id=offer.pk, expected_version=posted_version(request))
    except errors.DomainError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("ui:offer-detail", pk=offer.pk)
    messages.success(request, _("The offer was accepted."))
    return redirect("ui:application-detail", pk=offer.application_id)


@require_POST
@workspace_view
def offer_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The bank withdraws a live offer (the RM's side, with the reason); the application ends withdrawn."""
    user = acting_user(request)
    offer = selectors.get_offer(viewer=user, offer_id=pk)
    form = WithdrawOfferForm(request.POST)
    if not form.is_valid():
        return render_offer(request, offer.pk, status=400, withdraw_form=form)
    try:
        services.withdraw_offer(
            actor=user,
            offer_id=offer.pk,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )
    except errors.DomainError as exc:
        return render_offer(request, offer.pk, status=refusal_status(exc), refusal=refusal_text(exc))
    messages.success(request, _("The offer was withdrawn, and the application with it."))
    return redirect("ui:application-detail", pk=offer.application_id)


# --- the approver's queue -------------------------------------------------------------------------
@require_GET
@workspace_view
def decision_queue(request: HttpRequest) -> HttpResponse:
    """Applications awaiting this user's decision or vote, oldest first, overdue flagged."""
    user = acting_user(request)
    now = timezone.now()
    page = page_of(request, authority.decision_queue(user, now=now))
    context = {
        "section": "decisions",
        "page": page,
        "rows": timed_rows(list(page.object_list), now),
        "products": product_names(),
    }
    return render(request, "origination/decision_queue.html", context)
