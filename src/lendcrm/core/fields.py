"""Input fields for JSON bodies that accept only the JSON type the schema documents, and row ids."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from lendcrm.core import errors

MAX_ID = 2**63 - 1  # the largest BIGINT primary key on every supported database


def row_id(raw: object) -> int:
    """An id from a URL or body; anything that cannot be a row id is simply not found."""
    try:
        pk = int(str(raw))
    except ValueError as exc:
        raise errors.NotFound() from exc
    if not 1 <= pk <= MAX_ID:
        raise errors.NotFound()
    return pk


class _JsonTyped:
    """DRF would read 0 as "0" and "5" as 5; a typed API refuses both."""

    json_types: tuple[type, ...] = ()
    json_name = ""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) is not (bool in self.json_types) or not isinstance(data, self.json_types):
            raise serializers.ValidationError(
                _("Expected a %(type)s.") % {"type": self.json_name}, code="invalid"
            )
        return super().to_internal_value(data)  # type: ignore[misc]


class Text(_JsonTyped, serializers.CharField):
    json_types, json_name = (str,), "string"


class Pattern(_JsonTyped, serializers.RegexField):
    json_types, json_name = (str,), "string"


class Email(_JsonTyped, serializers.EmailField):
    json_types, json_name = (str,), "string"


class Choice(_JsonTyped, serializers.ChoiceField):
    json_types, json_name = (str,), "string"


class Integer(_JsonTyped, serializers.IntegerField):
    json_types, json_name = (int,), "whole number"


class DecimalText(_JsonTyped, serializers.DecimalField):
    """A decimal sent as a string ("12.50"), so no precision is lost on the way."""

    json_types, json_name = (str,), "decimal number as a string"


class Flag(_JsonTyped, serializers.BooleanField):
    json_types, json_name = (bool,), "true or false"


class Day(_JsonTyped, serializers.DateField):
    json_types, json_name = (str,), "date (YYYY-MM-DD)"


class AwareDateTime(serializers.DateTimeField):
    """A timestamp that must name its time zone: a naive one is ambiguous, so it is refused."""

    default_error_messages = {"naive": gettext_lazy("Give a time zone, e.g. 2025-01-31T09:30:00Z.")}

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A row id in a JSON body."""
    return Integer(min_value=1, max_value=MAX_ID, **kwargs)


def query_id_field(**kwargs: Any) -> serializers.IntegerField:
    """A row id in a query string (text by nature)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
