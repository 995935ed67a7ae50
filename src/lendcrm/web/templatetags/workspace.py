"""Formatting the workspace needs in every language: money, badges, people."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from lendcrm.core import audit
from lendcrm.core.models import Branch, User
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties import identifiers
from lendcrm.parties.models import Contact, Party, Relationship, RelationshipKind

CENT = Decimal("0.01")
AUDITED_MODELS: dict[str, Any] = {
    "party": Party,
    "contact": Contact,
    "relationship": Relationship,
    "interaction": Interaction,
    "task": Task,
    "user": User,
    "branch": Branch,
}

register = template.Library()

KYC_TONE = {"verified": "ok", "pending": "warn", "not_started": "warn", "expired": "bad", "rejected": "bad"}
LIFECYCLE_TONE = {"active": "ok", "prospect": "", "dormant": "warn", "former": "bad"}


@register.simple_tag
def money(amount: Decimal | None, currency: str = "") -> str:
    """An amount with its currency, grouped and with two decimals in the reader's language."""
    if amount is None:
        return "—"
    cents = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)  # number_format alone truncates
    return f"{currency} {number_format(cents, 2, use_l10n=True, force_grouping=True)}".strip()


register.filter("money", money)  # also a filter: `{{ amount|money:currency }}` in the term sheet and offer


def decimal_text(value: Decimal, places: int) -> str:
    """A decimal rounded half-up to `places`, grouped in the reader's language (number_format truncates)."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(rounded, places, use_l10n=True, force_grouping=True)


@register.filter
def grouped(value: int | None) -> str:
    """A whole number with the reader's thousands separator."""
    if value is None:
        return "—"
    return number_format(value, 0, use_l10n=True, force_grouping=True)


@register.simple_tag
def badge(value: str, label: str, kind: str = "kyc") -> str:
    """A coloured status label; the colour repeats the text, never replaces it."""
    tones = KYC_TONE if kind == "kyc" else LIFECYCLE_TONE
    return format_html('<span class="badge {}">{}</span>', tones.get(value, ""), label)


@register.filter
def person(user: object) -> str:
    """A member of staff as colleagues know them."""
    if user is None:
        return "—"
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or str(getattr(user, "username", user))


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    """A value looked up by a key held in a variable (names by user id, say)."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def relationship_label(kind: str) -> str:
    """A link kind in the reader's language."""
    return str(RelationshipKind(kind).label) if kind in RelationshipKind.values else kind


# Audit actions as people say them; an action not listed shows its code.
ACTION_LABELS = {
    "party.created": _("Party created"),
    "party.updated": _("Profile changed"),
    "party.exported": _("Party list exported"),
    "party.viewed_360": _("360 page viewed"),
    "party.identifier_added": _("Identifier added"),
    "party.identifier_removed": _("Identifier removed"),
    "party.coverage_changed": _("Coverage changed"),
    "contact.created": _("Contact added"),
    "contact.updated": _("Contact changed"),
    "contact.role_added": _("Contact role added"),
    "contact.point_added": _("Contact point added"),
    "relationship.created": _("Link added"),
    "relationship.deleted": _("Link removed"),
    "interaction.logged": _("Interaction logged"),
    "interaction.batch_logged": _("Interactions imported"),
    "task.created": _("Task opened"),
    "task.updated": _("Task changed"),
    "task.completed": _("Task done"),
    "task.reassigned": _("Task reassigned"),
    "branch.created": _("Branch created"),
    "branch.updated": _("Branch changed"),
    "user.unlocked": _("Account unlocked"),
    "seed.loaded": _("Demo data loaded"),
    "seed.demo_coverage": _("Demo coverage assigned"),
    "user.created": _("User created"),
    "user.updated": _("User changed"),
    "token.created": _("API token issued"),
    "token.revoked": _("API token revoked"),
    "financial_statement.entered": _("Financial statement entered"),
    "financial_statement.replaced": _("Financial statement replaced"),
    "financial_statement.deleted": _("Financial statement deleted"),
    "daily.run": _("Daily post-loan job run"),
    "facility.booked": _("Facility booked"),
    "facility.drawdown": _("Drawdown paid out"),
    "repayment.posted": _("Repayment posted"),
    "delinquency.refreshed": _("Arrears and days past due updated"),
    "classification.changed": _("Classification changed"),
    "classification.requested": _("Classification proposed"),
    "classification.approved": _("Classification change approved"),
    "classification.rejected": _("Classification change rejected"),
    "classification.withdrawn": _("Classification proposal withdrawn"),
    "restructuring.requested": _("Restructuring requested"),
    "restructuring.approved": _("Restructuring approved"),
    "restructuring.rejected": _("Restructuring rejected"),
    "covenant.added": _("Covenant added"),
    "covenant.activated": _("Covenant reactivated"),
    "covenant.deactivated": _("Covenant deactivated"),
    "covenant.attested": _("Covenant attested"),
    "covenant_tests.run": _("Covenant tests run"),
    "covenant_test.waiver_requested": _("Covenant waiver requested"),
    "covenant_test.waived": _("Covenant breach waived"),
    "covenant_test.waiver_refused": _("Covenant waiver refused"),
    "project.created": _("Project created"),
    "project.updated": _("Project changed"),
    "project.cash_flows_saved": _("Project cash flows saved"),
    "review.scheduled": _("Review scheduled"),
    "review.completed": _("Review completed"),
    "review.rescheduled": _("Review rescheduled"),
    "review.cancelled": _("Review cancelled"),
    "signal.evaluated": _("Early-warning signals evaluated"),
    "signal.raised": _("Early-warning signal raised"),
    "signal.changed": _("Early-warning signal changed"),
    "signal.cleared": _("Early-warning signal cleared"),
    "signal.dismissed": _("Signal dismissed"),
    "watchlist.added": _("Put on the watchlist"),
    "watchlist.added_by_rule": _("Put on the watchlist by rule"),
    "watchlist.updated": _("Watchlist plan changed"),
    "watchlist.exit_requested": _("Leaving the watchlist requested"),
    "watchlist.exit_approved": _("Left the watchlist"),
    "watchlist.exit_refused": _("Leaving the watchlist refused"),
}


@register.filter
def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@register.filter
def split(text: str) -> list[str]:
    """Words of a literal list in a template: "a b c"|split."""
    return text.split()


@register.filter
def field(form: Any, name: str) -> Any:
    """A form's bound field by name."""
    return form[name]


@register.filter
def scheme_label(scheme: str) -> str:
    """An identifier scheme in the reader's language (LEI, unified social credit code, …)."""
    label = identifiers.SCHEMES.get(scheme)
    return str(label) if label is not None else scheme


# Names in audit entries that are not model fields (lists and links recorded beside the fields).
EXTRA_FIELD_LABELS = {
    "identifiers": _("identifiers"),
    "lead": _("lead RM"),
    "team": _("team"),
    "points": _("contact points"),
    "role": _("role"),
    "ownership_pct": _("ownership %"),
    "branch_id": _("booking branch"),
    "from_party_id": _("from party"),
    "to_party_id": _("to party"),
    "assignee_id": _("assignee"),
    "contact_id": _("contact"),
    "staff_id": _("staff"),
}


def _labels(object_type: str, names: list[str]) -> list[str]:
    model = AUDITED_MODELS.get(object_type)
    out = []
    for name in names:
        label = EXTRA_FIELD_LABELS.get(name)
        if label is None and model is not None:
            try:
                label = model._meta.get_field(name).verbose_name
            except FieldDoesNotExist:
                label = None
        out.append(str(label) if label is not None else name)
    return out


@register.filter
def field_labels(change: Any) -> list[str]:
    """The fields a timeline change touched, named in the reader's language."""
    return _labels(change.object_type, list(change.fields))


@register.filter
def event_field_labels(event: Any) -> list[str]:
    """The fields an audit entry touched, named in the reader's language (never their values)."""
    return _labels(event.object_type, audit.changed_field_names(event.changes))
