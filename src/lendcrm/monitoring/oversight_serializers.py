"""Serializers of the oversight API (reviews, signals, watchlist): what goes out and the strict shapes that
come in."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from lendcrm.core.api import StrictSerializer
from lendcrm.core.fields import Day as DayField
from lendcrm.core.fields import Flag, Text, id_field, query_id_field
from lendcrm.monitoring import signal_rules
from lendcrm.monitoring.oversight_models import (
    Review,
    ReviewKind,
    ReviewStatus,
    Severity,
    Signal,
    SignalRule,
    SignalStatus,
    WatchlistEntry,
    WatchSource,
    WatchStatus,
)

MAX_TEXT = 10_000


class ReviewSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.legal_name", read_only=True)
    facility_reference = serializers.CharField(source="facility.reference", read_only=True, allow_null=True)
    assigned_to_name = serializers.CharField(source="assigned_to.get_full_name", read_only=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "party",
            "party_name",
            "facility",
            "facility_reference",
            "kind",
            "due_date",
            "assigned_to",
            "assigned_to_name",
            "status",
            "is_overdue",
            "visited_on",
            "people_met",
            "findings",
            "site_condition",
            "recommendation",
            "completed_at",
            "completed_by",
            "version",
        ]
        read_only_fields = fields

    def get_is_overdue(self, review: Review) -> bool:
        today = self.context["today"]
        return bool(review.status == ReviewStatus.SCHEDULED and review.due_date < today)


class ReviewQuery(serializers.Serializer):
    party = query_id_field(required=False)
    assigned_to = query_id_field(required=False)
    status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=ReviewKind.choices, required=False)
    overdue = serializers.BooleanField(
        required=False, help_text=_("Only scheduled reviews past their due date.")
    )


class ReviewCompleteInput(StrictSerializer):
    visited_on = DayField(help_text=_("The day of the review or visit; not in the future."))
    findings = Text(max_length=MAX_TEXT)
    people_met = Text(max_length=300, required=False, allow_blank=True, default="")
    site_condition = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    recommendation = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class SignalSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.legal_name", read_only=True)
    facility_reference = serializers.CharField(source="facility.reference", read_only=True, allow_null=True)
    detail = serializers.SerializerMethodField(
        help_text=_("The signal's sentence in the request's language (Accept-Language).")
    )
    detail_key = serializers.CharField(
        read_only=True, help_text=_("The message key of the sentence; empty for a signal written by hand.")
    )
    detail_params = serializers.DictField(
        read_only=True, help_text=_("The message's parameters: dates as ISO strings, decimals as strings.")
    )

    class Meta:
        model = Signal
        fields = [
            "id",
            "party",
            "party_name",
            "facility",
            "facility_reference",
            "rule",
            "subject",
            "severity",
            "detail",
            "detail_key",
            "detail_params",
            "status",
            "raised_on",
            "last_seen_on",
            "closed_on",
            "closed_by",
            "dismissal_reason",
        ]
        read_only_fields = fields

    def get_detail(self, signal: Signal) -> str:
        return signal_rules.signal_text(signal)


class SignalQuery(serializers.Serializer):
    party = query_id_field(required=False)
    facility = query_id_field(required=False)
    status = serializers.ChoiceField(choices=SignalStatus.choices, required=False)
    rule = serializers.ChoiceField(choices=SignalRule.choices, required=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)


class DismissInput(StrictSerializer):
    reason = Text(max_length=MAX_TEXT)


class WatchlistEntrySerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.legal_name", read_only=True)
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)
    reason = serializers.SerializerMethodField(
        help_text=_(
            "Why the party is on watch, in the request's language (an entry by rule: its signal's message)."
        )
    )
    reason_key = serializers.CharField(
        read_only=True, help_text=_("By rule: the message key; empty by hand.")
    )
    reason_params = serializers.DictField(read_only=True, help_text=_("By rule: the message's parameters."))

    class Meta:
        model = WatchlistEntry
        fields = [
            "id",
            "party",
            "party_name",
            "source",
            "reason",
            "reason_key",
            "reason_params",
            "action_plan",
            "owner",
            "owner_name",
            "review_date",
            "status",
            "signal",
            "added_at",
            "added_by",
            "exit_reason",
            "exit_requested_by",
            "exit_approved_by",
            "exited_at",
            "version",
        ]
        read_only_fields = fields

    def get_reason(self, entry: WatchlistEntry) -> str:
        return signal_rules.watch_reason_text(entry)


class WatchQuery(serializers.Serializer):
    party = query_id_field(required=False)
    owner = query_id_field(required=False)
    status = serializers.ChoiceField(choices=WatchStatus.choices, required=False)
    # The metaclass takes declared fields off the class, so this does not shadow Field.source at run time.
    source = serializers.ChoiceField(choices=WatchSource.choices, required=False)  # type: ignore[assignment]
    live = serializers.BooleanField(required=False, help_text=_("Only parties still on the watchlist."))


class WatchInput(StrictSerializer):
    party = id_field()
    reason = Text(max_length=MAX_TEXT)
    action_plan = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    owner = id_field()
    review_date = DayField()


class WatchPlanInput(StrictSerializer):
    action_plan = Text(max_length=MAX_TEXT, allow_blank=True)
    owner = id_field()
    review_date = DayField()


class ExitRequestInput(StrictSerializer):
    reason = Text(max_length=MAX_TEXT)


class ExitDecisionInput(StrictSerializer):
    approve = Flag()
    note = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
