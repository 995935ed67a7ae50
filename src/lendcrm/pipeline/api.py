"""REST API for the pipeline: parse, call a service or selector, render."""

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
    paginated,
    parse,
    parse_query,
    problems,
    with_etag,
)
from lendcrm.core.models import User
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.serializers import (
    DisqualifyInput,
    FunnelQuery,
    FunnelReportSerializer,
    LeadCreateInput,
    LeadQuery,
    LeadSerializer,
    LeadUpdateInput,
    OpportunityCreateInput,
    OpportunityQuery,
    OpportunitySerializer,
    OpportunityUpdateInput,
    ProductQuery,
    ProductSerializer,
    ProposalCreateInput,
    ProposalQuery,
    ProposalSerializer,
    ProposalUpdateInput,
    QualifyInput,
    StageInput,
    TimeInStageQuery,
    TimeInStageSerializer,
    parse_dotted,
)


# --- helpers --------------------------------------------------------------------------------------
def _staff(user_id: int, field: str) -> User:
    unknown = _("No active member of staff has the id %(id)s.")
    return core_selectors.staff_members([user_id], field=field, unknown=unknown)[0]


def _people_and_money(data: dict[str, Any], money_field: str) -> dict[str, Any]:
    """Input as service data: owner id to a User, branch code to a Branch, {amount, currency} flattened."""
    if "owner" in data:
        data["owner"] = _staff(data["owner"], "owner")
    if "branch" in data:
        data["branch"] = core_selectors.branch_by_code(data["branch"])
    if money_field in data:
        money = data.pop(money_field)
        data[money_field] = money["amount"] if money else None
        data["currency"] = money["currency"] if money else ""
    return data


def _lead(viewer: User, lead_id: int, code: int = status.HTTP_200_OK) -> Response:
    lead = selectors.get_lead(viewer=viewer, lead_id=lead_id)
    return with_etag(Response(LeadSerializer(lead).data, status=code), lead)


def _opportunity(viewer: User, opportunity_id: int, code: int = status.HTTP_200_OK) -> Response:
    opportunity = selectors.get_opportunity(viewer=viewer, opportunity_id=opportunity_id)
    return with_etag(Response(OpportunitySerializer(opportunity).data, status=code), opportunity)


def _proposal(viewer: User, proposal_id: int, code: int = status.HTTP_200_OK) -> Response:
    proposal = selectors.get_proposal(viewer=viewer, proposal_id=proposal_id)
    return with_etag(Response(ProposalSerializer(proposal).data, status=code), proposal)


# --- products -------------------------------------------------------------------------------------
class ProductList(APIView):
    @extend_schema(
        parameters=[ProductQuery],
        responses={200: ProductSerializer(many=True), **problems(400)},
        operation_id="products_list",
        summary="The product catalogue, in display order",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ProductQuery, request.query_params)
        products = selectors.product_list(
            viewer=acting_user(request),
            active_only=not query.get("include_inactive", False),
            family=query.get("family", ""),
        )
        return Response(ProductSerializer(products, many=True).data)


# --- leads ----------------------------------------------------------------------------------------
class LeadList(APIView):
    @extend_schema(
        parameters=[LeadQuery],
        responses={200: paginated(LeadSerializer), **problems(400)},
        operation_id="leads_list",
        summary="Leads you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(LeadQuery, request.query_params)
        branch = core_selectors.branch_by_code(query["branch"]).pk if "branch" in query else None
        leads = selectors.lead_list(
            viewer=acting_user(request),
            status=query.get("status", ""),
            source=query.get("source", ""),
            owner=query.get("owner"),
            branch=branch,
        )
        return paginate(request, self, leads, LeadSerializer)

    @extend_schema(
        request=LeadCreateInput,
        responses={201: LeadSerializer, **problems(400, 403, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Capture a lead",
        description=(
            "A LEI, USCC or name (case and spacing aside) that an existing party has links the lead to that "
            "party instead of creating another one (`matches_existing_party`, `matched_by`). The match "
            "searches every party; `party` names it only when you may see it."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = _people_and_money(parse(LeadCreateInput, request.data), "requested_amount")
        lead = services.create_lead(actor=actor, data=data)
        return _lead(actor, lead.pk, status.HTTP_201_CREATED)


class LeadDetail(APIView):
    @extend_schema(responses={200: LeadSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _lead(acting_user(request), pk)

    @extend_schema(
        request=LeadUpdateInput,
        responses={200: LeadSerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Correct a new lead (send If-Match with the ETag you read)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        lead = selectors.get_lead(viewer=actor, lead_id=pk)
        version = expected_version(request, lead)
        data = _people_and_money(parse(LeadUpdateInput, request.data), "requested_amount")
        services.update_lead(actor=actor, lead_id=lead.pk, changes=data, expected_version=version)
        return _lead(actor, pk)


class LeadQualify(APIView):
    @extend_schema(
        request=QualifyInput,
        responses={201: OpportunitySerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Qualify a lead: its party (the matched one, or a new prospect) and an opportunity",
        description="409 when the lead is already closed, or matches a customer you may not see.",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        lead = selectors.get_lead(viewer=actor, lead_id=pk)
        version = optional_version(request, lead)
        data = _people_and_money(parse(QualifyInput, request.data), "amount")
        opportunity = services.qualify_lead(
            actor=actor, lead_id=lead.pk, opportunity=data, expected_version=version
        )
        return _opportunity(actor, opportunity.pk, status.HTTP_201_CREATED)


class LeadDisqualify(APIView):
    @extend_schema(
        request=DisqualifyInput,
        responses={200: LeadSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Disqualify a lead, with the reason",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        lead = selectors.get_lead(viewer=actor, lead_id=pk)
        version = optional_version(request, lead)
        data = parse(DisqualifyInput, request.data)
        services.disqualify_lead(actor=actor, lead_id=lead.pk, expected_version=version, **data)
        return _lead(actor, pk)


# --- opportunities --------------------------------------------------------------------------------
class OpportunityList(APIView):
    @extend_schema(
        parameters=[OpportunityQuery],
        responses={200: paginated(OpportunitySerializer), **problems(400)},
        operation_id="opportunities_list",
        summary="Opportunities you may see, most recently changed first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(OpportunityQuery, request.query_params)
        opportunities = selectors.opportunity_list(
            viewer=acting_user(request),
            stage=query.get("stage", ""),
            owner=query.get("owner"),
            party=query.get("party"),
            open_only=query.get("open", False),
        )
        return paginate(request, self, opportunities, OpportunitySerializer)

    @extend_schema(
        request=OpportunityCreateInput,
        responses={201: OpportunitySerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Open an opportunity on a party (stage qualify)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = _people_and_money(parse(OpportunityCreateInput, request.data), "amount")
        party_id = data.pop("party")
        opportunity = services.create_opportunity(actor=actor, party_id=party_id, data=data)
        return _opportunity(actor, opportunity.pk, status.HTTP_201_CREATED)


class OpportunityDetail(APIView):
    @extend_schema(responses={200: OpportunitySerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _opportunity(acting_user(request), pk)

    @extend_schema(
        request=OpportunityUpdateInput,
        responses={200: OpportunitySerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change an open opportunity (send If-Match with the ETag you read)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        opportunity = selectors.get_opportunity(viewer=actor, opportunity_id=pk)
        version = expected_version(request, opportunity)
        data = _people_and_money(parse(OpportunityUpdateInput, request.data), "amount")
        services.update_opportunity(
            actor=actor, opportunity_id=opportunity.pk, changes=data, expected_version=version
        )
        return _opportunity(actor, pk)


class OpportunityStage(APIView):
    @extend_schema(
        request=StageInput,
        responses={200: OpportunitySerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Move an opportunity to another stage",
        description=(
            "Lost needs `lost_reason` (400). Won and lost are final, and the application stage is reached "
            "only by accepting a proposal: both refused with 409, nothing changed."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        opportunity = selectors.get_opportunity(viewer=actor, opportunity_id=pk)
        version = optional_version(request, opportunity)
        data = parse(StageInput, request.data)
        services.move_opportunity(
            actor=actor, opportunity_id=opportunity.pk, expected_version=version, **data
        )
        return _opportunity(actor, pk)


class OpportunityFunnel(APIView):
    @extend_schema(
        parameters=[FunnelQuery],
        responses={200: FunnelReportSerializer, **problems(400)},
        summary="Conversion funnel per relationship manager and overall",
        description=(
            "Per stage (qualify → needs analysis → proposal → application → won): how many opportunities "
            "entered it and their amount in the base currency, and how many of those went on to a later "
            "stage; won and lost counts. Over the opportunities you may see."
        ),
    )
    def get(self, request: Request) -> Response:
        query = parse_query(FunnelQuery, request.query_params)
        report = selectors.funnel(
            viewer=acting_user(request), owner=query.get("owner"), since=query.get("since")
        )
        return Response(FunnelReportSerializer(report).data)


class OpportunityTimeInStage(APIView):
    @extend_schema(
        parameters=[TimeInStageQuery],
        responses={200: TimeInStageSerializer, **problems(400)},
        summary="Average and median hours in each open stage, per relationship manager and overall",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(TimeInStageQuery, request.query_params)
        report = selectors.time_in_stage(viewer=acting_user(request), owner=query.get("owner"))
        return Response(TimeInStageSerializer(report).data)


# --- proposals ------------------------------------------------------------------------------------
class ProposalList(APIView):
    @extend_schema(
        parameters=[ProposalQuery],
        responses={200: paginated(ProposalSerializer), **problems(400)},
        operation_id="proposals_list",
        summary="Proposals you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ProposalQuery, request.query_params)
        proposals = selectors.proposal_list(viewer=acting_user(request), opportunity=query.get("opportunity"))
        return paginate(request, self, proposals, ProposalSerializer)

    @extend_schema(
        request=ProposalCreateInput,
        responses={201: ProposalSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Draft the next version of an opportunity's proposal",
        description="Facility errors are keyed like `facilities.0.amount`.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse_dotted(ProposalCreateInput, request.data)
        opportunity = selectors.get_opportunity(viewer=actor, opportunity_id=data.pop("opportunity"))
        proposal = services.create_proposal(actor=actor, opportunity_id=opportunity.pk, data=data)
        return _proposal(actor, proposal.pk, status.HTTP_201_CREATED)


class ProposalDetail(APIView):
    @extend_schema(responses={200: ProposalSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _proposal(acting_user(request), pk)

    @extend_schema(
        request=ProposalUpdateInput,
        responses={200: ProposalSerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change a draft proposal (facilities, when sent, replace the draft's)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        proposal = selectors.get_proposal(viewer=actor, proposal_id=pk)
        version = expected_version(request, proposal)
        data = parse_dotted(ProposalUpdateInput, request.data)
        services.update_proposal(actor=actor, proposal_id=proposal.pk, changes=data, expected_version=version)
        return _proposal(actor, pk)


class _ProposalAction(APIView):
    action: Any = None

    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        proposal = selectors.get_proposal(viewer=actor, proposal_id=pk)
        version = optional_version(request, proposal)
        type(self).action(actor=actor, proposal_id=proposal.pk, expected_version=version)
        return _proposal(actor, pk)


def _action_schema(summary: str, description: str) -> Any:
    return extend_schema(
        request=None,
        responses={200: ProposalSerializer, **problems(403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary=summary,
        description=description,
    )


class ProposalIssue(_ProposalAction):
    action = services.issue_proposal

    @_action_schema(
        "Issue a draft to the customer",
        "Earlier drafts and issued versions become superseded; an opportunity before the proposal stage "
        "moves to it. 409 unless the proposal is a draft.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ProposalAccept(_ProposalAction):
    action = services.accept_proposal

    @_action_schema(
        "Record the customer's acceptance: the proposal becomes a loan application",
        "The opportunity moves to the application stage and `application` names the new application. "
        "409 unless the proposal is issued and still valid, or when another one was accepted.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ProposalReject(_ProposalAction):
    action = services.reject_proposal

    @_action_schema(
        "Record the customer's rejection of an issued proposal", "409 unless the proposal is issued."
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)
