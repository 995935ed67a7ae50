"""Simplified Chinese formats: Django's, except that amounts are grouped by thousands with commas, as
mainland banks print them on statements and contracts (Django's default groups nothing)."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
