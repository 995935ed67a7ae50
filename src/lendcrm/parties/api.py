"""REST API for the customer master: parse, call a service or selector, render."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import selectors as core_selectors
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    OPTIONAL_IF_MATCH,
    acting_user,
    expected_version,
    idempotent,
    optional_version,
    paginate,
    paginate_capped,
    paginated,
    parse,
    parse_query,
    problems,
    with_etag,
)
from lendcrm.core.models import Branch, User
from lendcrm.core.money import Money
from lendcrm.parties import selectors, services
from lendcrm.parties.customer360 import customer_360_data
from lendcrm.parties.search import SEARCH_COUNT_CAP
from lendcrm.parties.serializers import (
    ContactCreateInput,
    ContactPointInput,
    ContactPointSerializer,
    ContactQuery,
    ContactRoleInput,
    ContactRoleSerializer,
    ContactSerializer,
    ContactUpdateInput,
    CoverageInput,
    CoverageSerializer,
    Customer360Serializer,
    GroupSerializer,
    IdentifierInput,
    IdentifierSerializer,
    PartyCreateInput,
    PartyQuery,
    PartySerializer,
    PartyUpdateInput,
    RelationshipInput,
    RelationshipQuery,
    RelationshipSerializer,
    coverage_payload,
)


# --- helpers --------------------------------------------------------------------------------------
def _branch(actor: User, code: str | None) -> Branch | None:
    """The booking branch named in input; without one, the actor's own."""
    return actor.branch if code is None else core_selectors.branch_by_code(code)


def _staff(user_ids: list[int], field: str, unknown: str) -> list[User]:
    return core_selectors.staff_members(user_ids, field=field, unknown=unknown)


def _lead(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    return _staff([user_id], field, _("The lead must be an active relationship manager."))[0]


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
        responses={200: paginated(PartySerializer, capped=True), **problems(400, 404)},
        operation_id="parties_list",
        summary="Parties you may see, searched and filtered",
        description=(
            f"With `search`, `count` stops at {SEARCH_COUNT_CAP:,} and `count_capped` is true when more "
            "parties matched (refine the search); `next` still leads to every further page. Without "
            "`search` the count is exact."
        ),
    )
    def get(self, request: Request) -> Response:
        query = parse_query(PartyQuery, request.query_params)
        query.pop("page", None)
        query.pop("page_size", None)
        if "industry" in query:
            query["industry_code"] = query.pop("industry")
        qs = selectors.party_list(viewer=acting_user(request), **query)
        cap = SEARCH_COUNT_CAP if query.get("search", "").split() else None
        return paginate_capped(request, self, qs, PartySerializer, cap)

    @extend_schema(
        request=PartyCreateInput,
        responses={201: PartySerializer, **problems(400, 403, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Create a party with its identifiers",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(PartyCreateInput, request.data)
        data["branch"] = _branch(actor, data.get("branch"))
        _with_money(data)
        lead_id = data.pop("lead_rm")
        data["lead_rm"] = _lead(lead_id, "lead_rm")
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
        data = parse(PartyUpdateInput, request.data)
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
        data = parse(IdentifierInput, request.data)
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
        return Response(coverage_payload(selectors.party_coverage(viewer=actor, party=party)))

    @extend_schema(
        request=CoverageInput,
        responses={200: CoverageSerializer, **problems(400, 403, 404, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Replace the lead RM and team",
    )
    def put(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        party = selectors.get_party(viewer=actor, party_id=pk)
        version = optional_version(request, party)
        data = parse(CoverageInput, request.data)
        lead = _lead(data["lead"], "lead")
        team = _staff(data["team"], "team", _("%(id)s is not an active member of staff."))
        services.set_coverage(actor=actor, party=party, lead=lead, team=team, expected_version=version)
        return Response(coverage_payload(selectors.party_coverage(viewer=actor, party=party)))


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
        # Rendered from plain values (parties.customer360); Customer360Serializer declares the same shape.
        return Response(customer_360_data(viewer=acting_user(request), party_id=pk))


# --- contacts -------------------------------------------------------------------------------------
def _contact_response(viewer: User, contact_id: int, code: int = status.HTTP_200_OK) -> Response:
    contact = selectors.get_contact(viewer=viewer, contact_id=contact_id)
    return with_etag(Response(ContactSerializer(contact).data, status=code), contact)


class ContactList(APIView):
    @extend_schema(
        parameters=[ContactQuery],
        responses={200: paginated(ContactSerializer), **problems(400, 404)},
        operation_id="contacts_list",
        summary="Contact persons at parties you may see",
    )
    def get(self, request: Request) -> Response:
        actor = acting_user(request)
        query = parse_query(ContactQuery, request.query_params)
        party = selectors.get_party(viewer=actor, party_id=query["party"]) if "party" in query else None
        contacts = selectors.contact_list(viewer=actor, party=party, search=query.get("search", "").strip())
        return paginate(request, self, contacts, ContactSerializer)

    @extend_schema(
        request=ContactCreateInput,
        responses={201: ContactSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Record a contact person at a party",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(ContactCreateInput, request.data)
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
        data = parse(ContactUpdateInput, request.data)
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
        data = parse(ContactRoleInput, request.data)
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
        data = parse(ContactPointInput, request.data)
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
        query = parse_query(RelationshipQuery, request.query_params)
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
        data = parse(RelationshipInput, request.data)
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
