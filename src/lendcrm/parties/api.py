"""REST API for the customer master: parse, call a service or selector, render."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core import selectors as core_selectors
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    OPTIONAL_IF_MATCH,
    StrictSerializer,
    acting_user,
    expected_version,
    idempotent,
    paginate,
    paginated,
    problems,
    with_etag,
)
from lendcrm.core.fields import MAX_ID, Choice, Day, DecimalText, Flag, Integer, Pattern, Text, id_field
from lendcrm.core.models import Branch, User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, Money
from lendcrm.parties import selectors, services
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
            "kind",
            "legal_name",
            "local_name",
            "short_name",
            "country",
            "industry_code",
            "segment",
            "lifecycle",
            "kyc_status",
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


def _coverage(rows: list[Coverage]) -> dict[str, Any]:
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


class RelationshipQuery(PageQuery):
    party = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text=gettext_lazy("Links from or to this party")
    )


# --- helpers --------------------------------------------------------------------------------------
def _parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validated input; query strings come as a plain dict, so an empty `?kind=` is refused, not ignored."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _branch(actor: User, code: str | None) -> Branch | None:
    if code is None:
        return actor.branch
    found = core_selectors.branches(viewer=actor).filter(code=code.strip().upper()).first()
    if found is None:
        raise errors.field_error("branch", _("No branch has the code %(code)s.") % {"code": code})
    return found


def _staff(user_id: int, field: str) -> User:
    """A member of staff by id; an unknown id gets the same answer as an unsuitable one (no enumeration)."""
    user = core_selectors.user_with_roles(user_id)
    if user is None:
        if field == "team":
            raise errors.field_error(field, _("%(id)s is not an active member of staff.") % {"id": user_id})
        raise errors.field_error(field, _("The lead must be an active relationship manager."))
    return user


def _with_money(data: dict[str, Any]) -> dict[str, Any]:
    """Profile input as service arguments: {amount, currency} becomes Money."""
    for name in ("annual_revenue", "total_assets"):
        if data.get(name) is not None:
            data[name] = Money(data[name]["amount"], data[name]["currency"])
    return data


def _party_response(viewer: User, party_id: int, code: int = status.HTTP_200_OK) -> Response:
    party = selectors.get_party_detail(viewer=viewer, party_id=party_id)
    return with_etag(Response(PartySerializer(party).data, status=code), party)


# --- parties --------------------------------------------------------------------------------------
class PartyList(APIView):
    @extend_schema(
        parameters=[PartyQuery],
        responses={200: paginated(PartySerializer), **problems(400, 404)},
        operation_id="parties_list",
        summary="Parties you may see, searched and filtered",
    )
    def get(self, request: Request) -> Response:
        query = _parse(PartyQuery, request.query_params.dict())
        query.pop("page", None)
        query.pop("page_size", None)
        if "industry" in query:
            query["industry_code"] = query.pop("industry")
        qs = selectors.party_list(viewer=acting_user(request), **query)
        return paginate(request, self, qs, PartySerializer)

    @extend_schema(
        request=PartyCreateInput,
        responses={201: PartySerializer, **problems(400, 403, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Create a party with its identifiers",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = _parse(PartyCreateInput, request.data)
        data["branch"] = _branch(actor, data.get("branch"))
        _with_money(data)
        lead_id = data.pop("lead_rm")
        data["lead_rm"] = _staff(lead_id, "lead_rm") if lead_id is not None else None
        data["identifiers"] = [(i["scheme"], i["value"]) for i in data.get("identifiers", [])]
        party = services.create_party(actor=actor, **data)
        return _party_response(actor, party.pk, status.HTTP_201_CREATED)


class PartyDetail(APIView):
    @extend_schema(responses={200: PartySerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _party_response(acting_user(request), pk)

    @extend_schema(
        request=PartyUpdateInput,
        responses={200: PartySerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change a party's profile (send If-Match with the ETag you read)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        version = expected_version(request, party)
        data = _parse(PartyUpdateInput, request.data)
        if "branch" in data:
            data["branch"] = _branch(actor, data["branch"])
        _with_money(data)
        services.update_party(actor=actor, party=party, expected_version=version, **data)
        return _party_response(actor, pk)


class PartyIdentifiers(APIView):
    @extend_schema(responses={200: IdentifierSerializer(many=True), **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        return Response(
            IdentifierSerializer(selectors.party_identifiers(viewer=actor, party=party), many=True).data
        )

    @extend_schema(
        request=IdentifierInput,
        responses={201: IdentifierSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Register an identifier (LEI, USCC, …) for the party",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        data = _parse(IdentifierInput, request.data)
        identifier = services.add_identifier(actor=actor, party=party, **data)
        return Response(IdentifierSerializer(identifier).data, status=status.HTTP_201_CREATED)


class PartyIdentifierDetail(APIView):
    @extend_schema(responses={204: None, **problems(403, 404)})
    def delete(self, request: Request, pk: int, identifier_id: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        identifier = selectors.get_identifier(viewer=actor, party=party, identifier_id=identifier_id)
        services.remove_identifier(actor=actor, identifier=identifier)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PartyCoverage(APIView):
    @extend_schema(responses={200: CoverageSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        return Response(_coverage(selectors.party_coverage(viewer=actor, party=party)))

    @extend_schema(
        request=CoverageInput,
        responses={200: CoverageSerializer, **problems(400, 403, 404, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Replace the lead RM and team",
    )
    def put(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        version = expected_version(request, party) if request.headers.get("If-Match") else None
        data = _parse(CoverageInput, request.data)
        lead = _staff(data["lead"], "lead") if data["lead"] is not None else None
        team = [_staff(user_id, "team") for user_id in dict.fromkeys(data["team"])]
        services.set_coverage(actor=actor, party=party, lead=lead, team=team, expected_version=version)
        return Response(_coverage(selectors.party_coverage(viewer=actor, party=party)))


class PartyGroup(APIView):
    @extend_schema(
        responses={200: GroupSerializer, **problems(404)},
        summary="The party's group: ultimate parent, tree with ownership %, connected parties",
        description=(
            "Parties outside your scope keep their place in the tree as `restricted` nodes without id, "
            "name or ownership %, so you know the group is larger than what you see."
        ),
    )
    def get(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        tree = selectors.group_tree(viewer=actor, party=party)
        tree["connected"] = selectors.connected_parties(viewer=actor, party=party)
        return Response(GroupSerializer(tree).data)


class Party360(APIView):
    @extend_schema(
        responses={200: Customer360Serializer, **problems(404)},
        summary="Customer 360: profile, identifiers, coverage, contacts, group, interactions, open tasks",
        description="A fixed number of queries whatever the data size; every read is audited.",
    )
    def get(self, request: Request, pk: int) -> Response:
        view = selectors.customer_360(viewer=acting_user(request), party_id=pk)
        payload = {**vars(view), "coverage": _coverage(view.coverage)}
        return Response(Customer360Serializer(payload).data)


# --- contacts -------------------------------------------------------------------------------------
def _contact_response(viewer: User, contact_id: int, code: int = status.HTTP_200_OK) -> Response:
    contact = selectors.get_contact(viewer=viewer, contact_id=contact_id)
    return with_etag(Response(ContactSerializer(contact).data, status=code), contact)


class ContactList(APIView):
    @extend_schema(
        request=ContactCreateInput,
        responses={201: ContactSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Record a contact person at a party",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = _parse(ContactCreateInput, request.data)
        data["party"] = selectors.get_party(viewer=actor, party_id=data["party"])
        data["points"] = [services.NewContactPoint(**p) for p in data.get("points", [])]
        contact = services.create_contact(actor=actor, **data)
        return _contact_response(actor, contact.pk, status.HTTP_201_CREATED)


class ContactDetail(APIView):
    @extend_schema(responses={200: ContactSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _contact_response(acting_user(request), pk)

    @extend_schema(
        request=ContactUpdateInput,
        responses={200: ContactSerializer, **problems(400, 403, 404, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        contact = selectors.get_contact(viewer=actor, contact_id=pk)
        version = expected_version(request, contact)
        data = _parse(ContactUpdateInput, request.data)
        services.update_contact(actor=actor, contact=contact, expected_version=version, **data)
        return _contact_response(actor, pk)


class ContactRoles(APIView):
    @extend_schema(
        request=ContactRoleInput,
        responses={201: ContactRoleSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        contact = selectors.get_contact(viewer=actor, contact_id=pk)
        data = _parse(ContactRoleInput, request.data)
        data["party"] = selectors.get_party(viewer=actor, party_id=data["party"])
        role = services.add_contact_role(actor=actor, contact=contact, **data)
        return Response(ContactRoleSerializer(role).data, status=status.HTTP_201_CREATED)


class ContactPoints(APIView):
    @extend_schema(
        request=ContactPointInput,
        responses={201: ContactPointSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Add an email, phone or address; a new preferred one replaces the old preferred one",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        contact = selectors.get_contact(viewer=actor, contact_id=pk)
        data = _parse(ContactPointInput, request.data)
        point = services.add_contact_point(actor=actor, contact=contact, **data)
        return Response(ContactPointSerializer(point).data, status=status.HTTP_201_CREATED)


# --- relationships --------------------------------------------------------------------------------
class RelationshipList(APIView):
    @extend_schema(
        parameters=[RelationshipQuery],
        responses={200: paginated(RelationshipSerializer), **problems(400, 404)},
        operation_id="relationships_list",
        summary="Links between parties you may see (both ends)",
    )
    def get(self, request: Request) -> Response:
        actor = acting_user(request)
        query = _parse(RelationshipQuery, request.query_params.dict())
        party = selectors.get_party(viewer=actor, party_id=query["party"]) if "party" in query else None
        return paginate(
            request, self, selectors.relationship_list(viewer=actor, party=party), RelationshipSerializer
        )

    @extend_schema(
        request=RelationshipInput,
        responses={201: RelationshipSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Link two parties (ownership stays acyclic and at most 100 % into a party)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = _parse(RelationshipInput, request.data)
        data["from_party"] = selectors.get_party(viewer=actor, party_id=data["from_party"])
        data["to_party"] = selectors.get_party(viewer=actor, party_id=data["to_party"])
        rel = services.create_relationship(actor=actor, **data)
        return Response(RelationshipSerializer(rel).data, status=status.HTTP_201_CREATED)


class RelationshipDetail(APIView):
    @extend_schema(responses={200: RelationshipSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        rel = selectors.get_relationship(viewer=acting_user(request), relationship_id=pk)
        return Response(RelationshipSerializer(rel).data)

    @extend_schema(responses={204: None, **problems(403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        rel = selectors.get_relationship(viewer=actor, relationship_id=pk)
        services.delete_relationship(actor=actor, relationship=rel)
        return Response(status=status.HTTP_204_NO_CONTENT)
