"""Serializers for the pipeline API: what goes out, and the strict shapes that come in."""

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from lendcrm.core import errors
from lendcrm.core.api import StrictSerializer
from lendcrm.core.fields import (
    AwareDateTime,
    Choice,
    Day,
    DecimalText,
    Email,
    Integer,
    Text,
    id_field,
    query_id_field,
)
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.parties.models import PartyKind
from lendcrm.parties.serializers import MoneyInput, MoneySerializer, PageQuery
from lendcrm.pipeline import selectors
from lendcrm.pipeline.models import (
    BaseRate,
    DisqualificationReason,
    Lead,
    LeadSource,
    LeadStatus,
    LostReason,
    Opportunity,
    Product,
    ProductFamily,
    Proposal,
    ProposalFacility,
    RateType,
    RepaymentProfile,
    Stage,
)
from lendcrm.pipeline.terms import MAX_FACILITIES, MAX_TENOR_MONTHS

MAX_LIST = 20
_INDEX = re.compile(r"\[(\d+)\]")


def _money(amount: Any, currency: str) -> dict[str, Any] | None:
    return None if amount is None else MoneySerializer({"amount": amount, "currency": currency}).data


def _flat(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors keyed the way the services name fields: `facilities.0.amount`."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            out.update(_flat(value, f"{prefix}.{name}" if prefix and name else prefix or name))
        return out
    if isinstance(detail, list) and any(isinstance(v, dict | list) for v in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flat(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {_INDEX.sub(r".\1", prefix) or "_": [str(m) for m in messages]}


def parse_dotted(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validated input, or a 400 whose field errors are named like the services' (`facilities.0.amount`)."""
    serializer = serializer_class(data=data)
    try:
        serializer.is_valid(raise_exception=True)
    except exceptions.ValidationError as exc:
        raise errors.ValidationFailed(field_errors=_flat(exc.detail)) from exc
    return dict(serializer.validated_data)


# --- output ---------------------------------------------------------------------------------------
class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "local_name", "family", "is_active", "position"]


class LeadSerializer(serializers.ModelSerializer):
    """A lead; `party` is null when it matches a customer you may not see (`matches_existing_party`)."""

    product: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    branch: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner = serializers.IntegerField(source="owner_id", read_only=True, allow_null=True)
    requested_amount = serializers.SerializerMethodField()
    party = serializers.SerializerMethodField()
    matches_existing_party = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "Linked to a party that existed before; `party` names it only when you may see it."
        )
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "source",
            "source_detail",
            "status",
            "party_kind",
            "name",
            "local_name",
            "country",
            "industry_code",
            "lei",
            "uscc",
            "contact_name",
            "contact_email",
            "contact_phone",
            "product",
            "requested_amount",
            "notes",
            "branch",
            "owner",
            "party",
            "matches_existing_party",
            "matched_by",
            "disqualification_reason",
            "disqualification_note",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_requested_amount(self, lead: Lead) -> dict[str, Any] | None:
        return _money(lead.requested_amount, lead.currency)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_party(self, lead: Lead) -> int | None:
        return lead.party_id if getattr(lead, "party_visible", False) else None

    @extend_schema_field(serializers.BooleanField())
    def get_matches_existing_party(self, lead: Lead) -> bool:
        return bool(lead.matched_by)


class OpportunitySerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.legal_name", read_only=True)
    products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    amount = serializers.SerializerMethodField()
    owner = serializers.IntegerField(source="owner_id", read_only=True)
    lead = serializers.IntegerField(source="lead_id", read_only=True, allow_null=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "party",
            "party_name",
            "lead",
            "title",
            "products",
            "amount",
            "stage",
            "stage_entered_at",
            "expected_close",
            "probability",
            "owner",
            "lost_reason",
            "lost_note",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_amount(self, opportunity: Opportunity) -> dict[str, Any] | None:
        return _money(opportunity.amount, opportunity.currency)


class ProposalFacilitySerializer(serializers.ModelSerializer):
    product: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ProposalFacility
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
        ]


class ProposalSerializer(serializers.ModelSerializer):
    facilities = ProposalFacilitySerializer(many=True, read_only=True)
    guarantors: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )
    created_by = serializers.IntegerField(source="created_by_id", read_only=True)
    application = serializers.SerializerMethodField(
        help_text=gettext_lazy("The loan application an accepted proposal became.")
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "opportunity",
            "number",
            "status",
            "summary",
            "conditions",
            "valid_until",
            "facilities",
            "guarantors",
            "created_by",
            "issued_at",
            "decided_at",
            "application",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_application(self, proposal: Proposal) -> int | None:
        return selectors.application_id_of(proposal)


class FunnelStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    entered = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS + 6,
        decimal_places=MONEY_DECIMAL_PLACES,
        help_text=gettext_lazy("In the base currency."),
    )
    converted = serializers.IntegerField(
        help_text=gettext_lazy("Of those entered, how many reached a later stage.")
    )
    conversion_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)


class FunnelSerializer(serializers.Serializer):
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    owner_name = serializers.CharField()
    stages = FunnelStageSerializer(many=True)
    won = serializers.IntegerField()
    lost = serializers.IntegerField()


class FunnelReportSerializer(serializers.Serializer):
    currency = serializers.CharField()
    overall = FunnelSerializer()
    by_owner = FunnelSerializer(many=True)


class StageTimeSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    count = serializers.IntegerField()
    average_hours = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    median_hours = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class OwnerTimesSerializer(serializers.Serializer):
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    owner_name = serializers.CharField()
    stages = StageTimeSerializer(many=True)


class TimeInStageSerializer(serializers.Serializer):
    overall = OwnerTimesSerializer()
    by_owner = OwnerTimesSerializer(many=True)


# --- input ----------------------------------------------------------------------------------------
def _text(limit: int, *, create: bool, **kwargs: Any) -> Text:
    extra: dict[str, Any] = {"default": ""} if create else {}
    return Text(max_length=limit, allow_blank=True, required=False, **extra, **kwargs)


def _lead_fields(create: bool) -> dict[str, serializers.Field]:
    """A lead's fields as input; on create the optional ones have defaults, on update none."""

    def opt(**defaults: Any) -> dict[str, Any]:
        return {"required": False, **(defaults if create else {})}

    return {
        "source": Choice(choices=LeadSource.choices, **opt(default=LeadSource.RM)),
        "source_detail": _text(200, create=create),
        "party_kind": Choice(choices=PartyKind.choices, **opt(default=PartyKind.SME)),
        "local_name": _text(300, create=create),
        "country": _text(2, create=create, help_text=gettext_lazy("ISO 3166 alpha-2")),
        "industry_code": _text(10, create=create, help_text=gettext_lazy("ISIC or NACE")),
        "lei": _text(
            40, create=create, help_text=gettext_lazy("Checked (ISO 17442) and matched against parties")
        ),
        "uscc": _text(
            40, create=create, help_text=gettext_lazy("Checked (GB 32100) and matched against parties")
        ),
        "contact_name": _text(200, create=create),
        "contact_email": Email(max_length=254, allow_blank=True, **opt(default="")),
        "contact_phone": _text(40, create=create),
        "product": Text(
            max_length=40, allow_null=True, help_text=gettext_lazy("Product code"), **opt(default=None)
        ),
        "requested_amount": MoneyInput(allow_null=True, **opt(default=None)),
        "notes": Text(max_length=20_000, allow_blank=True, **opt(default="")),
        "branch": Text(
            max_length=20, help_text=gettext_lazy("Branch code; defaults to yours."), required=False
        ),
        "owner": id_field(help_text=gettext_lazy("Defaults to you."), required=False),
    }


class LeadCreateInput(StrictSerializer):
    """A new lead; a LEI, USCC or name that an existing party has links the lead to it."""

    name = Text(max_length=300)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_lead_fields(create=True)}


class LeadUpdateInput(StrictSerializer):
    """The fields of a new lead to change; send only those that change."""

    name = Text(max_length=300, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_lead_fields(create=False)}


def _opportunity_fields() -> dict[str, serializers.Field]:
    return {
        "title": Text(max_length=200, required=False),
        "products": serializers.ListField(
            child=Text(max_length=40), min_length=1, max_length=MAX_LIST, required=False
        ),
        "amount": MoneyInput(allow_null=True, required=False),
        "expected_close": Day(allow_null=True, required=False),
        "probability": Integer(min_value=0, max_value=100, allow_null=True, required=False),
        "owner": id_field(required=False, help_text=gettext_lazy("Defaults to you.")),
    }


class QualifyInput(StrictSerializer):
    """The opportunity the lead becomes; title, products, amount and owner default to the lead's."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_opportunity_fields()}


class DisqualifyInput(StrictSerializer):
    reason = Choice(choices=DisqualificationReason.choices)
    note = Text(max_length=500, allow_blank=True, required=False, default="")


class OpportunityCreateInput(StrictSerializer):
    party = id_field()
    title = Text(max_length=200)
    products = serializers.ListField(child=Text(max_length=40), min_length=1, max_length=MAX_LIST)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = _opportunity_fields()
        del fields["title"], fields["products"]
        return {**super().get_fields(), **fields}


class OpportunityUpdateInput(StrictSerializer):
    """The fields of an open opportunity to change; send only those that change."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_opportunity_fields()}


class StageInput(StrictSerializer):
    stage = Choice(choices=Stage.choices)
    lost_reason = Choice(choices=LostReason.choices, allow_blank=True, required=False, default="")
    lost_note = Text(max_length=500, allow_blank=True, required=False, default="")
    probability = Integer(
        min_value=0,
        max_value=100,
        allow_null=True,
        required=False,
        default=None,
        help_text=gettext_lazy("Defaults to the stage's probability."),
    )


def _rate(**kwargs: Any) -> DecimalText:
    return DecimalText(
        max_digits=9, decimal_places=5, allow_null=True, required=False, default=None, **kwargs
    )


class ProposalFacilityInput(StrictSerializer):
    """One facility's terms: a floating rate needs base_rate and margin_pct, a fixed one fixed_rate_pct;
    a balloon profile needs balloon_amount (less than the amount); grace shorter than the tenor."""

    product = Text(max_length=40, help_text=gettext_lazy("A lending product's code"))
    amount = DecimalText(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    currency = Choice(choices=sorted(settings.LENDCRM_FX_TO_BASE))
    tenor_months = Integer(min_value=1, max_value=MAX_TENOR_MONTHS)
    repayment_profile = Choice(choices=RepaymentProfile.choices)
    balloon_amount = DecimalText(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        allow_null=True,
        required=False,
        default=None,
    )
    grace_months = Integer(min_value=0, max_value=MAX_TENOR_MONTHS, required=False, default=0)
    rate_type = Choice(choices=RateType.choices)
    base_rate = Choice(choices=BaseRate.choices, allow_blank=True, required=False, default="")
    margin_pct = _rate(help_text=gettext_lazy("Percent per year over the base rate; may be negative"))
    fixed_rate_pct = _rate()
    upfront_fee_pct = _rate()
    commitment_fee_pct = _rate()
    security = Text(max_length=20_000, allow_blank=True, required=False, default="")
    covenants = Text(max_length=20_000, allow_blank=True, required=False, default="")
    purpose = Text(max_length=300, allow_blank=True, required=False, default="")


class FacilityItems(serializers.ListSerializer[Any]):
    """A proposal's facilities; its own class so the schema can state how many there may be."""


class FacilityItemsSchema(OpenApiSerializerFieldExtension):
    """Add minItems/maxItems, which drf-spectacular leaves out for nested list serializers."""

    target_class = FacilityItems

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        schema.update(minItems=self.target.min_length, maxItems=self.target.max_length)
        return schema


def _facilities(**kwargs: Any) -> FacilityItems:
    return FacilityItems(child=ProposalFacilityInput(), min_length=1, max_length=MAX_FACILITIES, **kwargs)


class ProposalUpdateInput(StrictSerializer):
    """The fields of a draft to change; `facilities`, when sent, replace all of the draft's."""

    facilities = _facilities(required=False)
    guarantors = serializers.ListField(child=id_field(), max_length=MAX_LIST, required=False)
    summary = Text(max_length=20_000, allow_blank=True, required=False)
    conditions = Text(max_length=20_000, allow_blank=True, required=False)
    valid_until = Day(allow_null=True, required=False)


class ProposalCreateInput(ProposalUpdateInput):
    """The next version of the scheme for an opportunity, as a draft."""

    opportunity = id_field()
    facilities = _facilities()


# --- queries --------------------------------------------------------------------------------------
class ProductQuery(serializers.Serializer):
    family = serializers.ChoiceField(choices=ProductFamily.choices, required=False)
    include_inactive = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Retired products too.")
    )


class LeadQuery(PageQuery):
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    source = serializers.ChoiceField(choices=LeadSource.choices, required=False)  # type: ignore[assignment]  # a field named like Field.source
    owner = query_id_field(required=False)
    branch = serializers.CharField(max_length=20, required=False, help_text=gettext_lazy("Branch code"))


class OpportunityQuery(PageQuery):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    owner = query_id_field(required=False)
    party = query_id_field(required=False)
    open = serializers.BooleanField(required=False, help_text=gettext_lazy("Only open stages."))


class ProposalQuery(PageQuery):
    opportunity = query_id_field(required=False)


class FunnelQuery(serializers.Serializer):
    owner = query_id_field(required=False, help_text=gettext_lazy("One relationship manager's opportunities"))
    since = AwareDateTime(required=False, help_text=gettext_lazy("Count stage entries at or after this time"))


class TimeInStageQuery(serializers.Serializer):
    owner = query_id_field(required=False, help_text=gettext_lazy("One relationship manager's opportunities"))
