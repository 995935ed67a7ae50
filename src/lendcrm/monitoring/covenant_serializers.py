"""Serializers of the covenant and project API: what goes out and the strict shapes that come in."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from lendcrm.core.api import StrictSerializer
from lendcrm.core.fields import Choice, DecimalText, Flag, Integer, Text, id_field, query_id_field
from lendcrm.core.fields import Day as DayField
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.monitoring.models import (
    Bound,
    Covenant,
    CovenantKind,
    CovenantMetric,
    CovenantTest,
    Project,
    ProjectCashFlow,
    ReportingDocument,
    TestStatus,
)
from lendcrm.monitoring.services.covenants import DETAILS, MAX_DUE_DAYS
from lendcrm.monitoring.services.projects import MAX_PERIODS


def ratio_out(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=22, decimal_places=4, read_only=True, allow_null=True, **kwargs
    )


def money_out(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, read_only=True, **kwargs
    )


def money_in(**kwargs: Any) -> DecimalText:
    return DecimalText(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


# --- covenants ------------------------------------------------------------------------------------
def blank_or(choices: list[tuple[str, Any]], help_text: str) -> serializers.ChoiceField:
    """A choice that is empty ("") for the kinds of covenant it does not apply to."""
    return serializers.ChoiceField(choices=[("", "-"), *choices], read_only=True, help_text=help_text)


class CovenantSerializer(serializers.ModelSerializer):
    metric = blank_or(CovenantMetric.choices, "Financial covenants; empty otherwise.")
    bound = blank_or(Bound.choices, "Financial covenants; empty otherwise.")
    document = blank_or(ReportingDocument.choices, "Reporting covenants; empty otherwise.")
    facility_reference = serializers.CharField(source="facility.reference", read_only=True)
    borrower = serializers.IntegerField(source="facility.borrower_id", read_only=True)
    borrower_name = serializers.CharField(source="facility.borrower.legal_name", read_only=True)
    threshold = ratio_out()

    class Meta:
        model = Covenant
        fields = [
            "id",
            "facility",
            "facility_reference",
            "borrower",
            "borrower_name",
            "kind",
            "name",
            "metric",
            "bound",
            "threshold",
            "document",
            "frequency_months",
            "first_test_date",
            "due_days",
            "description",
            "is_active",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CovenantTestSerializer(serializers.ModelSerializer):
    covenant_name = serializers.CharField(source="covenant.name", read_only=True)
    facility = serializers.IntegerField(source="covenant.facility_id", read_only=True)
    value = ratio_out()
    threshold = ratio_out()
    detail_text = serializers.SerializerMethodField()

    class Meta:
        model = CovenantTest
        fields = [
            "id",
            "covenant",
            "covenant_name",
            "facility",
            "period_end",
            "due_date",
            "status",
            "value",
            "threshold",
            "statement",
            "detail",
            "detail_text",
            "tested_at",
            "action",
            "complied",
            "attested_on",
            "attested_by",
            "waiver_reason",
            "waiver_requested_by",
            "waived_by",
            "waived_at",
            "waiver_note",
        ]
        read_only_fields = fields

    def get_detail_text(self, test: CovenantTest) -> str:
        return str(DETAILS.get(test.detail, test.detail))


class CovenantInput(StrictSerializer):
    facility = id_field()
    kind = Choice(choices=CovenantKind.choices)
    name = Text(max_length=200)
    metric = Choice(
        choices=CovenantMetric.choices, required=False, default="", help_text=_("Financial only.")
    )
    bound = Choice(choices=Bound.choices, required=False, default="", help_text=_("Financial only."))
    threshold = DecimalText(
        max_digits=21,
        decimal_places=4,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Financial only."),
    )
    document = Choice(
        choices=ReportingDocument.choices, required=False, default="", help_text=_("Reporting only.")
    )
    frequency_months = Integer(required=False, default=12, help_text=_("1, 3, 6 or 12."))
    first_test_date = DayField()
    due_days = Integer(min_value=0, max_value=MAX_DUE_DAYS, required=False, default=0)
    description = Text(max_length=5000, required=False, allow_blank=True, default="")


class CovenantPatchInput(StrictSerializer):
    is_active = Flag()


class CovenantQuery(serializers.Serializer):
    facility = query_id_field(required=False)
    party = query_id_field(required=False)
    kind = serializers.ChoiceField(choices=CovenantKind.choices, required=False)
    active = serializers.BooleanField(required=False, default=None, allow_null=True)


class TestQuery(serializers.Serializer):
    facility = query_id_field(required=False)
    party = query_id_field(required=False)
    status = serializers.ChoiceField(choices=TestStatus.choices, required=False)


class AttestationInput(StrictSerializer):
    period_end = DayField(help_text=_("The test date (period end) attested."))
    complied = Flag(help_text=_("Received / complied with (true) or not (false)."))
    attested_on = DayField(required=False, allow_null=True, default=None, help_text=_("Today when left out."))


class WaiverInput(StrictSerializer):
    reason = Text(max_length=5000)


class WaiverDecisionInput(StrictSerializer):
    approve = Flag()
    note = Text(max_length=5000, required=False, allow_blank=True, default="")


# --- projects -------------------------------------------------------------------------------------
class ProjectSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.legal_name", read_only=True)
    facility_reference = serializers.CharField(source="facility.reference", read_only=True, allow_null=True)
    discount_rate_pct = serializers.DecimalField(max_digits=9, decimal_places=5, read_only=True)
    lockup_dscr = ratio_out()
    default_dscr = ratio_out()
    dsra_balance = money_out()

    class Meta:
        model = Project
        fields = [
            "id",
            "party",
            "party_name",
            "facility",
            "facility_reference",
            "name",
            "currency",
            "discount_rate_pct",
            "lockup_dscr",
            "default_dscr",
            "dsra_balance",
            "llcr_includes_dsra",
            "created_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProjectInput(StrictSerializer):
    party = id_field(help_text=_("The project company."))
    facility = id_field(required=False, allow_null=True, default=None)
    name = Text(max_length=200)
    currency = Text(max_length=3, required=False, allow_null=True, default=None)
    discount_rate_pct = DecimalText(
        max_digits=9, decimal_places=5, required=False, allow_null=True, default=None
    )
    lockup_dscr = DecimalText(max_digits=8, decimal_places=4, required=False, allow_null=True, default=None)
    default_dscr = DecimalText(max_digits=8, decimal_places=4, required=False, allow_null=True, default=None)
    dsra_balance = money_in(required=False)
    llcr_includes_dsra = Flag(required=False, default=False)


class ProjectPatchInput(StrictSerializer):
    name = Text(max_length=200, required=False)
    discount_rate_pct = DecimalText(max_digits=9, decimal_places=5, required=False)
    lockup_dscr = DecimalText(max_digits=8, decimal_places=4, required=False)
    default_dscr = DecimalText(max_digits=8, decimal_places=4, required=False)
    dsra_balance = money_in(required=False)
    llcr_includes_dsra = Flag(required=False)


class ProjectQuery(serializers.Serializer):
    party = query_id_field(required=False)
    facility = query_id_field(required=False)


class CashFlowSerializer(serializers.ModelSerializer):
    revenue = money_out()
    operating_costs = money_out()
    tax = money_out()
    maintenance_capex = money_out()
    working_capital_change = money_out()
    reserve_movement = money_out()
    cfads = money_out()
    principal = money_out()
    interest = money_out()

    class Meta:
        model = ProjectCashFlow
        fields = [
            "period_end",
            "revenue",
            "operating_costs",
            "tax",
            "maintenance_capex",
            "working_capital_change",
            "reserve_movement",
            "cfads",
            "principal",
            "interest",
            "is_actual",
        ]
        read_only_fields = fields


class CashFlowRowInput(StrictSerializer):
    period_end = DayField()
    revenue = money_in()
    operating_costs = money_in()
    tax = money_in()
    maintenance_capex = money_in()
    working_capital_change = money_in(help_text=_("An increase uses cash; negative when released."))
    reserve_movement = money_in(help_text=_("Positive: released from a reserve; negative: paid into it."))
    principal = money_in(required=False, help_text=_("Used when the linked facility has no instalment then."))
    interest = money_in(required=False, help_text=_("Used when the linked facility has no instalment then."))
    is_actual = Flag(required=False, default=False)


class CashFlowsInput(StrictSerializer):
    rows = CashFlowRowInput(many=True, max_length=MAX_PERIODS)  # type: ignore[call-arg]


class CashFlowsSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    version = serializers.IntegerField()
    rows = CashFlowSerializer(many=True)


class RatiosQuery(serializers.Serializer):
    at = serializers.DateField(required=False, help_text=_("The date of LLCR and PLCR; today by default."))


class PeriodRatioSerializer(serializers.Serializer):
    period_end = serializers.DateField()
    cfads = money_out()
    debt_service = money_out()
    dscr = ratio_out()


class ProjectRatiosSerializer(serializers.Serializer):
    at = serializers.DateField()
    discount_rate_pct = serializers.DecimalField(max_digits=9, decimal_places=5)
    periods = PeriodRatioSerializer(many=True)
    min_dscr = ratio_out()
    avg_dscr = ratio_out()
    debt_outstanding = money_out()
    npv_loan_life = money_out()
    npv_project_life = money_out()
    dsra_counted = money_out()
    llcr = ratio_out()
    plcr = ratio_out()
    tested_period_end = serializers.DateField(allow_null=True)
    tested_dscr = ratio_out()
    lockup_dscr = ratio_out()
    default_dscr = ratio_out()
    lockup = serializers.BooleanField(allow_null=True, help_text=_("Distributions locked up."))
    default = serializers.BooleanField(allow_null=True, help_text=_("Below the event-of-default DSCR."))
