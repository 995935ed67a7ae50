"""Template tags of the oversight pages: a signal's severity as a coloured label, and the monitoring panel
of the customer 360 page (read here so the 360 view needs no change)."""

from typing import Any

from django import template
from django.utils.html import format_html

from lendcrm.monitoring import oversight_selectors

register = template.Library()
SEVERITY_TONE = {1: "", 2: "warn", 3: "bad", 4: "bad"}


@register.simple_tag
def severity(value: int, label: str) -> str:
    """The colour repeats the label, never replaces it."""
    return format_html('<span class="badge {}">{}</span>', SEVERITY_TONE.get(value, ""), label)


@register.simple_tag(takes_context=True)
def party_monitoring(context: Any, party: Any) -> oversight_selectors.PartyMonitoring:
    """The party's open signals, live watchlist entry and scheduled reviews as the viewer may see them."""
    return oversight_selectors.party_monitoring(viewer=context["request"].user, party_id=party.pk)
