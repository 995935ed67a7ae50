"""Serializers for the customer-master API: what goes out, and the strict shapes that come in."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lendcrm.core.api import (
    StrictSerializer,
)
from lendcrm.core.fields import MAX_ID, Choice, Day, DecimalText, Flag, Integer, Pattern, Text, id_field
from lendcrm.core.models import User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.parties import selectors
from lendcrm.parties.identifiers import SCHEMES
from lendcrm.parties.models import (
    Contact,
    ContactPoint,
    ContactPointKind,
    ContactRole,
    ContactRoleKind,
    Coverage,
    CoverageRole,
    Identifier,
    KycStatus,
    Lifecycle,
    Party,
    PartyKind,
    Relationship,
    RelationshipKind,
    Segment,
)

MAX_TEAM = 20


def pct_field(**kwargs: Any) -> serializers.DecimalField:
    return DecimalText(max_digits=6, decimal_places=3, min_value=0, max_value=100, **kwargs)


# --- output ---------------------------------------------------------------------------------------
class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    currency = serializers.CharField()


class IdentifierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Identifier
        fields = ["id", "scheme", "value"]


def _money(amount: Any, currency: str) -> dict[str, Any] | None:
    return None if amount is None else MoneySerializer({"amount": amount, "currency": currency}).data


# Party fields the API sends exactly as stored (text and choices); `customer360` renders the same ones.
PLAIN_PARTY_FIELDS = (
    "kind",
    "legal_name",
    "local_name",
    "short_name",
    "country",
    "industry_code",
    "segment",
    "lifecycle",
    "kyc_status",
)


class PartySerializer(serializers.ModelSerializer):
    branch: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lead_rm = serializers.IntegerField(source="lead_rm_id", read_only=True, allow_null=True)
    annual_revenue = serializers.SerializerMethodField()
    total_assets = serializers.SerializerMethodField()
    identifiers = IdentifierSerializer(many=True, read_only=True)

    class Meta:
        model = Party
        fields = [
            "id",
            *PLAIN_PARTY_FIELDS,
            "kyc_next_review",
            "branch",
            "lead_rm",
            "annual_revenue",
            "total_assets",
            "employees",
            "incorporation_date",
            "birth_date",
            "version",
            "identifiers",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_annual_revenue(self, party: Party) -> dict[str, Any] | None:
        return _money(party.annual_revenue, party.annual_revenue_currency)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_total_assets(self, party: Party) -> dict[str, Any] | None:
        return _money(party.total_assets, party.total_assets_currency)


class StaffSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name"]


class CoverageSerializer(serializers.Serializer):
    lead = StaffSerializer(allow_null=True)
    team = StaffSerializer(many=True)


def coverage_payload(rows: list[Coverage]) -> dict[str, Any]:
    return CoverageSerializer(
        {
            "lead": next((c.user for c in rows if c.role == CoverageRole.LEAD), None),
            "team": [c.user for c in rows if c.role == CoverageRole.TEAM],
        }
    ).data


class ContactRoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactRole
        fields = ["id", "party", "role", "ownership_pct"]


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = ["id", "kind", "value", "label", "is_preferred"]


class ContactSerializer(serializers.ModelSerializer):
    roles = ContactRoleSerializer(many=True, read_only=True)
    points = ContactPointSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "full_name",
            "local_name",
            "title",
            "birth_date",
            "nationality",
            "version",
            "roles",
            "points",
            "created_at",
            "updated_at",
        ]


class RelationshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Relationship
        fields = ["id", "from_party", "to_party", "kind", "ownership_pct", "note", "created_at"]


class PartyNodeSerializer(serializers.Serializer):
    """A party in a group; `restricted` ones are out of your scope and show no data."""

    id = serializers.IntegerField(allow_null=True)
    restricted = serializers.BooleanField()
    legal_name = serializers.CharField(allow_null=True)
    local_name = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(choices=PartyKind.choices, allow_null=True)


class GroupNodeSerializer(PartyNodeSerializer):
    """A node of the group tree: how it hangs under its parent, and what hangs under it."""

    relationship = serializers.ChoiceField(choices=RelationshipKind.choices, allow_null=True)
    ownership_pct = pct_field(allow_null=True)
    repeated = serializers.BooleanField(
        help_text=gettext_lazy("Shown in full at its first place in the tree.")
    )
    children = serializers.ListField(child=serializers.DictField())


GroupNodeSerializer._declared_fields["children"] = GroupNodeSerializer(many=True)


class GroupSerializer(serializers.Serializer):
    party_id = serializers.IntegerField()
    ultimate_parent = PartyNodeSerializer()
    size = serializers.IntegerField()
    restricted = serializers.IntegerField()
    tree = GroupNodeSerializer()
    connected = PartyNodeSerializer(
        many=True, help_text=gettext_lazy("Linked by control, sponsor or guarantee.")
    )


class GroupSummarySerializer(serializers.Serializer):
    ultimate_parent = PartyNodeSerializer()
    size = serializers.IntegerField()
    restricted = serializers.IntegerField()


class DirectLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=RelationshipKind.choices)
    direction = serializers.ChoiceField(choices=["outgoing", "incoming"])
    ownership_pct = pct_field(allow_null=True)
    party = PartyNodeSerializer()


class ContactCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="contact.pk")
    full_name = serializers.CharField(source="contact.full_name")
    local_name = serializers.CharField(source="contact.local_name")
    title = serializers.CharField(source="contact.title")
    roles = ContactRoleSerializer(many=True)
    points = ContactPointSerializer(many=True)


class InteractionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    direction = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    subject = serializers.CharField()
    staff = serializers.IntegerField(source="staff_id", allow_null=True)
    contact = serializers.IntegerField(source="contact_id", allow_null=True)


class TaskBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    due_date = serializers.DateField()
    status = serializers.CharField()
    assignee = serializers.IntegerField(source="assignee_id")


class Customer360Serializer(serializers.Serializer):
    party = PartySerializer()
    identifiers = IdentifierSerializer(many=True)
    coverage = CoverageSerializer()
    contacts = ContactCardSerializer(many=True)
    group = GroupSummarySerializer()
    relationships = DirectLinkSerializer(many=True)
    recent_interactions = InteractionBriefSerializer(many=True)
    open_tasks = TaskBriefSerializer(many=True)


# --- input ----------------------------------------------------------------------------------------
class MoneyInput(StrictSerializer):
    amount = DecimalText(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, min_value=0)
    currency = Pattern(r"^[A-Z]{3}$", help_text=gettext_lazy("ISO 4217, e.g. CNY"))


class IdentifierInput(StrictSerializer):
    scheme = Choice(choices=list(SCHEMES))
    value = Text(max_length=64)


def _profile_fields(create: bool) -> dict[str, serializers.Field]:
    """The party profile as input; on create the optional fields have defaults, on update none."""

    def opt(**defaults: Any) -> dict[str, Any]:
        return {"required": False, **(defaults if create else {})}

    return {
        "local_name": Text(max_length=300, allow_blank=True, **opt(default="")),
        "short_name": Text(max_length=100, allow_blank=True, **opt(default="")),
        "country": Text(
            max_length=2, allow_blank=True, help_text=gettext_lazy("ISO 3166 alpha-2"), **opt(default="")
        ),
        "industry_code": Text(
            max_length=10, allow_blank=True, help_text=gettext_lazy("ISIC or NACE"), **opt(default="")
        ),
        "segment": Choice(choices=Segment.choices, allow_blank=True, **opt(default="")),
        "lifecycle": Choice(choices=Lifecycle.choices, **opt(default=Lifecycle.PROSPECT)),
        "kyc_status": Choice(choices=KycStatus.choices, **opt(default=KycStatus.NOT_STARTED)),
        "kyc_next_review": Day(allow_null=True, **opt(default=None)),
        "incorporation_date": Day(allow_null=True, **opt(default=None)),
        "birth_date": Day(allow_null=True, **opt(default=None)),
        "annual_revenue": MoneyInput(allow_null=True, **opt(default=None)),
        "total_assets": MoneyInput(allow_null=True, **opt(default=None)),
        "employees": Integer(min_value=0, max_value=2_147_483_647, allow_null=True, **opt(default=None)),
        "branch": Text(
            max_length=20, help_text=gettext_lazy("Booking branch code; defaults to yours."), **opt()
        ),
    }


class PartyCreateInput(StrictSerializer):
    """A new party; identifiers are validated (LEI and USCC check characters) and must be unused."""

    kind = Choice(choices=PartyKind.choices)
    legal_name = Text(max_length=300)
    lead_rm = id_field(
        required=False, allow_null=True, default=None, help_text=gettext_lazy("Defaults to you.")
    )
    identifiers = IdentifierInput(many=True, required=False, max_length=20)  # type: ignore[call-arg]

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_profile_fields(create=True)}


class PartyUpdateInput(StrictSerializer):
    """The profile fields to change; send only those that change."""

    kind = Choice(choices=PartyKind.choices, required=False)
    legal_name = Text(max_length=300, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_profile_fields(create=False)}


class CoverageInput(StrictSerializer):
    lead = id_field(allow_null=True, help_text=gettext_lazy("A relationship manager, or null."))
    team = serializers.ListField(child=id_field(), max_length=MAX_TEAM, required=False, default=list)


class ContactPointInput(StrictSerializer):
    kind = Choice(choices=ContactPointKind.choices)
    value = Text(max_length=300)
    label = Text(  # type: ignore[assignment]  # a field named like Field.label
        max_length=50, required=False, allow_blank=True, default=""
    )
    is_preferred = Flag(required=False, default=False)


class ContactRoleInput(StrictSerializer):
    party = id_field()
    role = Choice(choices=ContactRoleKind.choices)
    ownership_pct = pct_field(
        required=False, allow_null=True, default=None, help_text=gettext_lazy("UBO only")
    )


class ContactCreateInput(ContactRoleInput):
    """A natural person at a party, in a role, with their contact points."""

    full_name = Text(max_length=200)
    local_name = Text(max_length=200, allow_blank=True, required=False, default="")
    title = Text(max_length=100, allow_blank=True, required=False, default="")
    nationality = Text(max_length=2, allow_blank=True, required=False, default="")
    birth_date = Day(allow_null=True, required=False, default=None)
    points = ContactPointInput(many=True, required=False, max_length=20)  # type: ignore[call-arg]


class ContactUpdateInput(StrictSerializer):
    """The contact fields to change; send only those that change."""

    full_name = Text(max_length=200, required=False)
    local_name = Text(max_length=200, allow_blank=True, required=False)
    title = Text(max_length=100, allow_blank=True, required=False)
    nationality = Text(max_length=2, allow_blank=True, required=False)
    birth_date = Day(allow_null=True, required=False)


class RelationshipInput(StrictSerializer):
    from_party = id_field()
    to_party = id_field()
    kind = Choice(choices=RelationshipKind.choices)
    ownership_pct = pct_field(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("parent_of and shareholder_of only"),
    )
    note = Text(max_length=300, required=False, allow_blank=True, default="")


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(
        min_value=1, max_value=settings.LENDCRM_MAX_PAGE_SIZE, required=False
    )


class PartyQuery(PageQuery):
    search = serializers.CharField(
        max_length=200,
        allow_blank=True,
        required=False,
        help_text=gettext_lazy("Names in any script, identifiers, contact emails"),
    )
    branch = serializers.CharField(max_length=20, required=False, help_text=gettext_lazy("Branch code or id"))
    kind = serializers.ChoiceField(choices=PartyKind.choices, required=False)
    segment = serializers.ChoiceField(choices=Segment.choices, required=False)
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)
    kyc_status = serializers.ChoiceField(choices=KycStatus.choices, required=False)
    country = serializers.CharField(max_length=2, required=False)
    industry = serializers.CharField(max_length=10, required=False)
    rm = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text=gettext_lazy("Parties this member of staff covers"),
    )
    ordering = serializers.ChoiceField(choices=list(selectors.PARTY_ORDERINGS), required=False)


class ContactQuery(PageQuery):
    party = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text=gettext_lazy("Contacts at this party")
    )
    search = serializers.CharField(
        max_length=100, required=False, help_text=gettext_lazy("Part of a name, in any script")
    )


class RelationshipQuery(PageQuery):
    party = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text=gettext_lazy("Links from or to this party")
    )
