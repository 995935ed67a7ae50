"""Formatting the origination pages need besides the pipeline's (`pipeline_format`): status badges,
probabilities in percent and ratios."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html

from lendcrm.origination.models import StatementKind, Status
from lendcrm.web.templatetags.workspace import decimal_text

register = template.Library()

STATUS_TONE: dict[str, str] = {
    Status.APPROVED: "ok",
    Status.APPROVED_WITH_CONDITIONS: "ok",
    Status.OFFER_ISSUED: "ok",
    Status.OFFER_ACCEPTED: "ok",
    Status.CONDITIONS_MET: "ok",
    Status.READY_TO_DISBURSE: "ok",
    Status.PENDING_DECISION: "warn",
    Status.REFERRED_UP: "warn",
    Status.DECLINED: "bad",
    Status.WITHDRAWN: "bad",
    Status.EXPIRED: "bad",
}
OUTCOME_TONE = {"approved": "ok", "approved_with_conditions": "ok", "declined": "bad", "referred_up": "warn"}
VOTE_TONE = {"approve": "ok", "approve_with_conditions": "ok", "decline": "bad", "abstain": ""}
CONDITION_TONE = {"met": "ok", "waived": "warn", "open": ""}
CHECKLIST_TONE = {"verified": "ok", "received": "", "waived": "warn", "required": "bad"}
OFFER_TONE = {"issued": "", "accepted": "ok", "expired": "bad", "withdrawn": "bad"}
TONES: dict[str, dict[str, str]] = {
    "status": STATUS_TONE,
    "outcome": OUTCOME_TONE,
    "vote": VOTE_TONE,
    "condition": CONDITION_TONE,
    "checklist": CHECKLIST_TONE,
    "offer": OFFER_TONE,
}


@register.simple_tag
def tone_badge(value: str, label: Any, kind: str = "status") -> str:
    """A coloured label for a status, outcome or vote; the colour repeats the text, never replaces it."""
    tone = TONES.get(kind, {}).get(value, "")
    return format_html('<span class="badge {}" data-value="{}">{}</span>', tone, value, label)


@register.filter
def percent(value: Decimal | None, places: int = 2) -> str:
    """A fraction (0.0042) as a percentage (0.42 %)."""
    if value is None:
        return "—"
    return f"{decimal_text(value * 100, places)} %"


@register.filter
def ratio(value: Decimal | None, code: str = "") -> str:
    """A computed ratio: margins and growth as percentages, the others as multiples."""
    if value is None:
        return "—"
    if code in ("ebitda_margin", "revenue_growth"):
        return percent(value, 1)
    return f"{decimal_text(value, 2)}\u00d7"


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """A value by a key held in a variable (a statement's line by code, say)."""
    if mapping is None:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def statement_kind(value: str) -> str:
    """A kind of financial statement in the reader's language."""
    return str(StatementKind(value).label) if value in StatementKind.values else value
