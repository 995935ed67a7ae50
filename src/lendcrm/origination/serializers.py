"""Serializers of the origination API: what goes out (applications, history, memo, statements, offers)
and the strict shapes that come in."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lendcrm.core.api import StrictSerializer
from lendcrm.core.fields import Choice, DecimalText, Integer, Text, id_field, query_id_field
from lendcrm.core.fields import Day as DayField
from lendcrm.core.money import CURRENCIES, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.origination import turnaround
from lendcrm.origination.models import (
    Application,
    ApplicationFacility,
    ApplicationParty,
    ChecklistItem,
    ChecklistStatus,
    FinancialStatement,
    Offer,
    OfferStatus,
    PartyRole,
    StatementKind,
    Status,
    StatusChange,
)
from lendcrm.origination.ratios import LINES, RATIO_CODES
from lendcrm.origination.selectors import application_memo
from lendcrm.origination.services.memo import MEMO_SECTIONS
from lendcrm.origination.workflow import OPEN, TRANSITIONS
from lendcrm.pipeline.models import BaseRate, RateType, RepaymentProfile

MAX_TEXT = 50_000


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, read_only=True, **kwargs
    )


def rate_out(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=5, read_only=True, allow_null=True, **kwargs)


# --- output: applications -------------------------------------------------------------------------
class ApplicationSerializer(serializers.ModelSerializer):
    """An application as listed; `is_overdue` needs `targets` and `now` in the context."""

    borrower_name = serializers.CharField(source="borrower.legal_name", read_only=True)
    branch: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    required_level: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "reference",
            "borrower",
            "borrower_name",
            "branch",
            "purpose",
            "status",
            "status_entered_at",
            "is_overdue",
            "owner",
            "analyst",
            "required_level",
            "opportunity",
            "proposal",
            "decision_round",
            "submitted_at",
            "decided_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, application: Application) -> bool:
        return application.status in OPEN and turnaround.is_overdue(
            self.context["targets"],
            application.status,
            application.status_entered_at,
            getattr(application, "main_product_id", None),
            self.context["now"],
        )


class ApplicationPartySerializer(serializers.ModelSerializer):
    legal_name = serializers.CharField(source="party.legal_name", read_only=True)
    local_name = serializers.CharField(source="party.local_name", read_only=True)

    class Meta:
        model = ApplicationParty
        fields = ["id", "party", "role", "legal_name", "local_name"]
        read_only_fields = fields


class FacilitySerializer(serializers.ModelSerializer):
    product: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    amount = money_field()
    balloon_amount = money_field(allow_null=True)
    margin_pct = rate_out()
    fixed_rate_pct = rate_out()
    upfront_fee_pct = rate_out()
    commitment_fee_pct = rate_out()
    lgd = serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True)
    base_rate = serializers.CharField(read_only=True, help_text=_("Empty for a fixed rate."))

    class Meta:
        model = ApplicationFacility
        fields = [
            "id",
            "position",
            "product",
            "amount",
            "currency",
            "tenor_months",
            "repayment_profile",
            "balloon_amount",
            "grace_months",
            "rate_type",
            "base_rate",
            "margin_pct",
            "fixed_rate_pct",
            "upfront_fee_pct",
            "commitment_fee_pct",
            "security",
            "covenants",
            "purpose",
            "lgd",
        ]
        read_only_fields = fields


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "code", "name", "local_name", "status", "waiver_reason", "updated_at", "updated_by"]
        read_only_fields = fields


class StatusChangeSerializer(serializers.ModelSerializer):
    from_status = serializers.CharField(read_only=True, help_text=_("Empty for the first entry."))

    class Meta:
        model = StatusChange
        fields = ["id", "from_status", "to_status", "changed_at", "changed_by", "note"]
        read_only_fields = fields


class MemoSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    analyst = serializers.IntegerField(source="analyst_id")
    risk_grade = serializers.IntegerField(source="risk_grade.grade", allow_null=True, default=None)
    completed_at = serializers.DateTimeField(allow_null=True)


class OfferSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Offer
        fields = ["id", "reference", "status", "issued_at", "expires_on", "accepted_at"]
        read_only_fields = fields


class ApplicationDetailSerializer(ApplicationSerializer):
    parties = ApplicationPartySerializer(many=True, read_only=True)
    facilities = FacilitySerializer(many=True, read_only=True)
    checklist = ChecklistItemSerializer(many=True, read_only=True)
    status_history = StatusChangeSerializer(many=True, read_only=True, source="status_changes")
    memo = serializers.SerializerMethodField()
    offers = OfferSummarySerializer(many=True, read_only=True)
    next_statuses = serializers.SerializerMethodField(
        help_text=_("Statuses the state machine allows next (roles and guards are checked on the move).")
    )

    class Meta(ApplicationSerializer.Meta):
        fields = [
            *ApplicationSerializer.Meta.fields,
            "next_statuses",
            "parties",
            "facilities",
            "checklist",
            "status_history",
            "memo",
            "offers",
        ]
        read_only_fields = fields

    @extend_schema_field(MemoSummarySerializer(allow_null=True))
    def get_memo(self, application: Application) -> dict[str, Any] | None:
        memo = application_memo(application)
        return None if memo is None else dict(MemoSummarySerializer(memo).data)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Status.choices)))
    def get_next_statuses(self, application: Application) -> list[str]:
        return sorted(TRANSITIONS[application.status])


class StintSerializer(serializers.Serializer):
    from_status = serializers.CharField(source="change.from_status")
    to_status = serializers.ChoiceField(source="status", choices=Status.choices)
    changed_at = serializers.DateTimeField(source="entered_at")
    changed_by = serializers.IntegerField(
        source="change.changed_by_id", allow_null=True, help_text=_("Empty for a system job.")
    )
    note = serializers.CharField(source="change.note")
    left_at = serializers.DateTimeField(allow_null=True)
    hours = serializers.DecimalField(
        max_digits=12, decimal_places=1, help_text=_("Time spent in the status.")
    )
    target_hours = serializers.IntegerField(allow_null=True, help_text=_("The turnaround target (SLA)."))
    overdue = serializers.BooleanField(help_text=_("The stay was (or is) longer than the target."))


class TurnaroundSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    current_target_hours = serializers.IntegerField(allow_null=True)
    overdue = serializers.BooleanField()
    hours_by_status = serializers.DictField(
        child=serializers.DecimalField(max_digits=12, decimal_places=1),
        help_text=_("Total hours per status (a status entered twice adds up)."),
    )
    next_statuses = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    history = StintSerializer(many=True)


# --- output: statements, memo, offers -------------------------------------------------------------
def _lines_serializer(read_only: bool) -> type[serializers.Serializer]:
    """The standard chart of lines as an object, one optional decimal (string) per line code."""
    field: Any = serializers.DecimalField if read_only else DecimalText
    attrs: dict[str, Any] = {
        line.code: field(
            max_digits=MONEY_MAX_DIGITS,
            decimal_places=MONEY_DECIMAL_PLACES,
            required=False,
            help_text=str(line.label),
        )
        for line in LINES
    }
    base: type[serializers.Serializer] = serializers.Serializer if read_only else StrictSerializer
    return type("StatementLines" if read_only else "StatementLinesInput", (base,), attrs)


StatementLinesSerializer = _lines_serializer(read_only=True)
StatementLinesInput = _lines_serializer(read_only=False)


class FinancialStatementSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()

    class Meta:
        model = FinancialStatement
        fields = [
            "id",
            "party",
            "period_end",
            "period_months",
            "kind",
            "currency",
            "lines",
            "entered_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(StatementLinesSerializer)
    def get_lines(self, statement: FinancialStatement) -> dict[str, str]:
        return {line.code: f"{line.amount:.2f}" for line in statement.lines.all()}


RatiosSerializer = type(
    "RatiosSerializer",
    (serializers.Serializer,),
    {
        code: serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)
        for code in RATIO_CODES
    },
)


class PeriodRatiosSerializer(serializers.Serializer):
    statement_id = serializers.IntegerField()
    period_end = serializers.DateField()
    period_months = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StatementKind.choices)
    currency = serializers.CharField()
    ratios = RatiosSerializer()


class FacilityLossSerializer(serializers.Serializer):
    facility_id = serializers.IntegerField()
    position = serializers.IntegerField()
    product = serializers.CharField()
    currency = serializers.CharField()
    ead = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=2)
    lgd = serializers.DecimalField(max_digits=5, decimal_places=4)
    pd = serializers.DecimalField(max_digits=7, decimal_places=6, allow_null=True)
    expected_loss = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=2, allow_null=True)
    expected_loss_base = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=2, allow_null=True
    )


class ExpectedLossSerializer(serializers.Serializer):
    facilities = FacilityLossSerializer(many=True)
    total_base = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=2,
        allow_null=True,
        help_text=_("EL = PD x LGD x EAD summed in the base currency; null until the memo has a grade."),
    )
    base_currency = serializers.CharField()


class RevisionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    saved_at = serializers.DateTimeField()
    saved_by = serializers.IntegerField(source="saved_by_id")


class MemoBodySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    analyst = serializers.IntegerField(source="analyst_id")
    risk_grade = serializers.IntegerField(source="risk_grade.grade", allow_null=True, default=None)
    pd = serializers.DecimalField(
        source="risk_grade.pd", max_digits=7, decimal_places=6, allow_null=True, default=None
    )
    grade_rationale = serializers.CharField()
    business = serializers.CharField()
    industry = serializers.CharField()
    financial_analysis = serializers.CharField()
    security_analysis = serializers.CharField()
    risks = serializers.CharField()
    recommendation = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)


class MemoViewSerializer(serializers.Serializer):
    memo = MemoBodySerializer(allow_null=True, help_text=_("Null until the analyst first saves the memo."))
    ratios = PeriodRatiosSerializer(many=True, help_text=_("The borrower's latest periods, newest first."))
    expected_loss = ExpectedLossSerializer()
    revisions = RevisionSerializer(many=True)


class OfferSerializer(serializers.ModelSerializer):
    application_reference = serializers.CharField(source="application.reference", read_only=True)
    terms = serializers.JSONField(read_only=True, help_text=_("The facilities and conditions as offered."))

    class Meta:
        model = Offer
        fields = [
            "id",
            "reference",
            "application",
            "application_reference",
            "status",
            "terms",
            "issued_at",
            "issued_by",
            "expires_on",
            "accepted_at",
            "version",
        ]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------------
def _pct(low: int, **kwargs: Any) -> DecimalText:
    return DecimalText(
        max_digits=9, decimal_places=5, min_value=Decimal(low), max_value=Decimal(100), **kwargs
    )


class FacilityInput(StrictSerializer):
    """One requested facility's terms (the pipeline's rules apply) and its LGD."""

    product = Text(max_length=40, help_text=_("A lending product's code."))
    amount = DecimalText(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, min_value=Decimal("0.01")
    )
    currency = Choice(choices=list(CURRENCIES))
    tenor_months = Integer(min_value=1, max_value=600)
    repayment_profile = Choice(choices=RepaymentProfile.choices)
    balloon_amount = DecimalText(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
    )
    grace_months = Integer(min_value=0, max_value=599, required=False)
    rate_type = Choice(choices=RateType.choices)
    base_rate = Choice(choices=BaseRate.choices, required=False)
    margin_pct = _pct(-100, required=False, allow_null=True)
    fixed_rate_pct = _pct(0, required=False, allow_null=True)
    upfront_fee_pct = _pct(0, required=False, allow_null=True)
    commitment_fee_pct = _pct(0, required=False, allow_null=True)
    security = Text(max_length=10_000, required=False, allow_blank=True)
    covenants = Text(max_length=10_000, required=False, allow_blank=True)
    purpose = Text(max_length=300, required=False, allow_blank=True)
    lgd = DecimalText(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        help_text=_("Loss given default as a fraction; 0.40 (0.45 for financial institutions) if omitted."),
    )


class PartyInput(StrictSerializer):
    party = id_field()
    role = Choice(choices=[(r.value, r.label) for r in PartyRole if r != PartyRole.BORROWER])


class ApplicationInput(StrictSerializer):
    """A new draft application."""

    borrower = id_field()
    purpose = Text(max_length=10_000, required=False, allow_blank=True, default="")
    facilities = FacilityInput(many=True, required=False, default=list)
    parties = PartyInput(many=True, required=False, default=list, help_text=_("Besides the borrower."))
    opportunity = id_field(required=False, allow_null=True, default=None)


class ApplicationUpdateInput(StrictSerializer):
    """A draft's changes; facilities and parties, when sent, replace the current ones."""

    purpose = Text(max_length=10_000, required=False, allow_blank=True)
    facilities = FacilityInput(many=True, required=False)
    parties = PartyInput(many=True, required=False)


class ApplicationQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    owner = query_id_field(required=False)
    borrower = query_id_field(required=False)
    mine = serializers.BooleanField(required=False, help_text=_("Only applications you own or analyse."))
    overdue = serializers.BooleanField(
        required=False, help_text=_("Only those in their status longer than its target.")
    )


class TransitionInput(StrictSerializer):
    to_status = Choice(choices=Status.choices)
    note = Text(max_length=500, required=False, allow_blank=True, default="")


class ChecklistInput(StrictSerializer):
    status = Choice(choices=ChecklistStatus.choices)
    waiver_reason = Text(
        max_length=500, required=False, allow_blank=True, default="", help_text=_("Required to waive.")
    )


def _memo_input(name: str, *, partial: bool) -> type[StrictSerializer]:
    attrs: dict[str, Any] = {
        section: Text(max_length=MAX_TEXT, allow_blank=True, required=not partial)
        for section in (*MEMO_SECTIONS, "grade_rationale")
    }
    attrs["risk_grade"] = Integer(min_value=1, max_value=10, allow_null=True, required=not partial)
    return type(name, (StrictSerializer,), attrs)


MemoInput = _memo_input("MemoInput", partial=False)
MemoPatchInput = _memo_input("MemoPatchInput", partial=True)


class StatementInput(StrictSerializer):
    """A party's statement for one period; the same period and kind again replaces it."""

    party = id_field()
    period_end = DayField()
    period_months = Integer(min_value=1, max_value=12, required=False, default=12)
    kind = Choice(choices=StatementKind.choices, required=False, default=StatementKind.AUDITED)
    currency = Choice(choices=list(CURRENCIES))
    lines = StatementLinesInput()


class StatementQuery(serializers.Serializer):
    party = query_id_field(required=False)
    kind = serializers.ChoiceField(choices=StatementKind.choices, required=False)


class OfferInput(StrictSerializer):
    application = id_field()
    expires_on = DayField(help_text=_("The last day the offer may be accepted."))


class OfferQuery(serializers.Serializer):
    application = query_id_field(required=False)
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False)


class WithdrawInput(StrictSerializer):
    note = Text(max_length=500, required=False, allow_blank=True, default="")


def list_context(now: datetime) -> dict[str, Any]:
    """What `ApplicationSerializer` needs to flag overdue rows: the targets (one query) and the time."""
    return {"targets": turnaround.load_targets(), "now": now}
