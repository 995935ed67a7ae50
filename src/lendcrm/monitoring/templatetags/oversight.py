"""Template tags of the oversight pages: a signal's severity as a coloured label, a signal's sentence and a
watchlist reason in the reader's language, and the monitoring panel of the customer 360 page (read here
so the 360 view needs no change)."""

from typing import Any

from django import template
from django.utils.html import format_html

from lendcrm.monitoring import oversight_selectors, signal_rules
from lendcrm.monitoring.oversight_models import Signal, WatchlistEntry

register = template.Library()
SEVERITY_TONE = {1: "", 2: "warn", 3: "bad", 4: "bad"}


@register.simple_tag
def severity(value: int, label: str) -> str:
    """The colour repeats the label, never replaces it."""
    return format_html('<span class="badge {}">{}</span>', SEVERITY_TONE.get(value, ""), label)


@register.filter
def signal_detail(signal: Signal) -> str:
    """The signal's sentence in the reader's language."""
    return signal_rules.signal_text(signal)


@register.filter
def watch_reason(entry: WatchlistEntry) -> str:
    """Why the party is on watch, in the reader's language (a by-rule entry's signal message)."""
    return signal_rules.watch_reason_text(entry)


@register.simple_tag(takes_context=True)
def party_monitoring(context: Any, party: Any) -> oversight_selectors.PartyMonitoring:
    """The party's open signals, live watchlist entry and scheduled reviews as the viewer may see them."""
    return oversight_selectors.party_monitoring(viewer=context["request"].user, party_id=party.pk)
