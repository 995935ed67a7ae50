"""API shapes of the loan book: facilities, their schedules and drawdowns, and the booking input."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lendcrm.core.api import StrictSerializer
from lendcrm.core.fields import Choice, DecimalText, Integer, Text, id_field, query_id_field
from lendcrm.core.fields import Day as DayField
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.servicing.models import (
    BusinessDayRule,
    Category,
    DayCount,
    Drawdown,
    Facility,
    FacilityGuarantor,
    FacilityKind,
    FacilityStatus,
    GraceKind,
    Instalment,
    ScheduleProfile,
)
from lendcrm.servicing.services.drawdowns import available

MAX_CFADS = 600


def _money(**kwargs: Any) -> DecimalText:
    return DecimalText(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


# --- output ---------------------------------------------------------------------------------------
class FacilitySerializer(serializers.ModelSerializer):
    borrower_name = serializers.CharField(source="borrower.legal_name", read_only=True)
    branch_code = serializers.CharField(source="branch.code", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True)

    class Meta:
        model = Facility
        fields = [
            "id",
            "reference",
            "application",
            "borrower",
            "borrower_name",
            "branch",
            "branch_code",
            "product",
            "kind",
            "status",
            "currency",
            "limit",
            "drawn",
            "outstanding_principal",
            "interest_rate_pct",
            "profile",
            "start_date",
            "maturity_date",
            "days_past_due",
            "category",
            "stage",
            "version",
        ]
        read_only_fields = fields


class GuarantorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="party.legal_name", read_only=True)

    class Meta:
        model = FacilityGuarantor
        fields = ["party", "name", "amount"]
        read_only_fields = fields


class DrawdownSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drawdown
        fields = ["id", "facility", "reference", "amount", "value_date", "created_at", "created_by"]
        read_only_fields = fields


class FacilityDetailSerializer(FacilitySerializer):
    available = serializers.SerializerMethodField(help_text=_("What may still be drawn."))
    guarantors = GuarantorSerializer(many=True, read_only=True)
    drawdowns = DrawdownSerializer(many=True, read_only=True)

    class Meta(FacilitySerializer.Meta):
        fields = [
            *FacilitySerializer.Meta.fields,
            "application_facility",
            "rate_type",
            "base_rate",
            "base_rate_pct",
            "margin_pct",
            "upfront_fee_pct",
            "commitment_fee_pct",
            "balloon_amount",
            "grace_months",
            "grace_kind",
            "frequency_months",
            "day_count",
            "business_day_rule",
            "target_dscr",
            "sculpting_cfads",
            "availability_end",
            "construction_end",
            "security",
            "lgd",
            "schedule_version",
            "arrears_principal",
            "arrears_interest",
            "arrears_fees",
            "restructured_on",
            "monitor",
            "booked_at",
            "booked_by",
            "available",
            "guarantors",
            "drawdowns",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    )
    def get_available(self, facility: Facility) -> str:
        return str(available(facility))


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = [
            "number",
            "period_start",
            "due_date",
            "days",
            "opening_balance",
            "principal",
            "interest",
            "fees",
            "closing_balance",
            "principal_paid",
            "interest_paid",
            "fees_paid",
            "settled_on",
        ]
        read_only_fields = fields


class ScheduleSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    reference = serializers.CharField()
    currency = serializers.CharField()
    schedule_version = serializers.IntegerField(help_text=_("The version shown."))
    current_version = serializers.IntegerField(help_text=_("The facility's current schedule version."))
    lines = InstalmentSerializer(many=True)


# --- input ----------------------------------------------------------------------------------------
class FacilityQuery(serializers.Serializer):
    borrower = query_id_field(required=False)
    status = serializers.ChoiceField(choices=FacilityStatus.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    branch = query_id_field(required=False)
    kind = serializers.ChoiceField(choices=FacilityKind.choices, required=False)
    application = query_id_field(required=False)


class ScheduleQuery(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text=_("An earlier version (default: current)."),
    )


class BookFacilityInput(StrictSerializer):
    """What booking adds to one approved facility; anything not given takes the documented default."""

    application_facility = id_field(help_text=_("The approved facility (of this application) to book."))
    kind = Choice(choices=FacilityKind.choices, required=False, help_text=_("Default: from the product."))
    profile = Choice(
        choices=ScheduleProfile.choices,
        required=False,
        help_text=_(
            "Default: the approved profile; required when it is custom; sculpted for project finance."
        ),
    )
    day_count = Choice(choices=DayCount.choices, required=False, help_text=_("Default: the bank's setting."))
    frequency_months = Integer(required=False, min_value=1, max_value=12, help_text=_("1, 3, 6 or 12."))
    business_day_rule = Choice(choices=BusinessDayRule.choices, required=False)
    base_rate_pct = DecimalText(
        max_digits=9,
        decimal_places=5,
        min_value=Decimal(-100),
        max_value=Decimal(100),
        required=False,
        help_text=_("A floating rate's base rate today, in percent; required for floating rates."),
    )
    availability_end = DayField(required=False, help_text=_("Last day a drawdown may be paid out."))
    construction_end = DayField(required=False, help_text=_("Project finance: end of construction."))
    grace_kind = Choice(choices=GraceKind.choices, required=False)
    target_dscr = DecimalText(
        max_digits=6, decimal_places=3, min_value=Decimal(1), max_value=Decimal(10), required=False
    )
    cfads = serializers.ListField(
        child=_money(min_value=Decimal(0)),
        required=False,
        max_length=MAX_CFADS,
        help_text=_("Sculpted: the base-case CFADS of every payment date of the facility."),
    )
    monitor = id_field(required=False, help_text=_("The portfolio monitor following the facility."))


class BookInput(StrictSerializer):
    start_date = DayField(
        help_text=_("The facilities' start date: interest and the payment grid run from it.")
    )
    facilities = BookFacilityInput(many=True, help_text=_("One entry per approved facility."))


class DrawdownInput(StrictSerializer):
    amount = _money(min_value=Decimal("0.01"))
    value_date = DayField()
    reference = Text(max_length=40, help_text=_("The payment's reference; the same one again is a retry."))
