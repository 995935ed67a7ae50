"""REST API for classification history, manual classification requests and restructurings: parse, call a
service or selector, render."""

from typing import Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    StrictSerializer,
    acting_user,
    idempotent,
    paginate,
    paginated,
    parse,
    parse_query,
    problems,
)
from lendcrm.core.fields import Choice, Day, DecimalText, Flag, Integer, Text, id_field, query_id_field
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.servicing import classification_selectors as selectors
from lendcrm.servicing.models import (
    Category,
    ClassificationChange,
    ClassificationRequest,
    GraceKind,
    RequestStatus,
    Restructuring,
    RestructuringKind,
    ScheduleProfile,
    Stage,
)
from lendcrm.servicing.services import classification as classification_services
from lendcrm.servicing.services import restructuring as restructuring_services

MAX_TEXT = 4000


# --- output -----------------------------------------------------------------------------------------
class ClassificationChangeSerializer(serializers.ModelSerializer):
    facility_reference = serializers.CharField(source="facility.reference", read_only=True)
    borrower = serializers.IntegerField(source="facility.borrower_id", read_only=True)

    class Meta:
        model = ClassificationChange
        fields = [
            "id",
            "facility",
            "facility_reference",
            "borrower",
            "category",
            "stage",
            "previous_category",
            "previous_stage",
            "basis",
            "days_past_due",
            "reason",
            "effective_on",
            "recorded_at",
            "proposed_by",
            "approved_by",
        ]


class ClassificationRequestSerializer(serializers.ModelSerializer):
    facility_reference = serializers.CharField(source="facility.reference", read_only=True)

    class Meta:
        model = ClassificationRequest
        fields = [
            "id",
            "facility",
            "facility_reference",
            "category",
            "stage",
            "reason",
            "status",
            "requested_at",
            "requested_by",
            "decided_at",
            "decided_by",
            "decision_note",
        ]


class RestructuringSerializer(serializers.ModelSerializer):
    facility_reference = serializers.CharField(source="facility.reference", read_only=True)
    terms = serializers.JSONField(read_only=True, help_text=_("The new terms as asked."))
    previous_terms = serializers.JSONField(read_only=True, help_text=_("The terms they replace."))
    schedule_version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("The schedule version the approval made.")
    )

    class Meta:
        model = Restructuring
        fields = [
            "id",
            "facility",
            "facility_reference",
            "kind",
            "terms",
            "previous_terms",
            "reason",
            "effective_on",
            "status",
            "requested_at",
            "requested_by",
            "decided_at",
            "decided_by",
            "decision_note",
            "schedule_version",
        ]


# --- input ------------------------------------------------------------------------------------------
class ClassificationQuery(serializers.Serializer):
    facility = query_id_field(required=False)
    party = query_id_field(required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)


class ClassificationRequestQuery(serializers.Serializer):
    facility = query_id_field(required=False)
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)


class ClassificationRequestInput(StrictSerializer):
    facility = id_field()
    category = Choice(choices=Category.choices)
    stage = Integer(min_value=min(Stage.values), max_value=max(Stage.values))
    reason = Text(max_length=MAX_TEXT, help_text=_("The reason and the evidence for the change."))


class FourEyesDecisionInput(StrictSerializer):
    approve = Flag()
    note = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class RestructuringTermsInput(StrictSerializer):
    maturity_date = Day(required=False)
    interest_rate_pct = DecimalText(
        max_digits=9, decimal_places=5, min_value=0, max_value=100, required=False, help_text=_("Fixed rate.")
    )
    margin_pct = DecimalText(
        max_digits=9,
        decimal_places=5,
        min_value=-100,
        max_value=100,
        required=False,
        help_text=_("Floating rate: the new margin over the base rate."),
    )
    profile = Choice(choices=ScheduleProfile.choices, required=False)
    frequency_months = Integer(required=False, min_value=1, max_value=12)
    grace_months = Integer(
        required=False,
        min_value=0,
        max_value=1200,
        help_text=_("Months of grace from the new schedule's start."),
    )
    grace_kind = Choice(choices=GraceKind.choices, required=False)
    balloon_amount = DecimalText(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, required=False, allow_null=True
    )


class RestructuringInput(StrictSerializer):
    facility = id_field()
    kind = Choice(choices=RestructuringKind.choices)
    terms = RestructuringTermsInput()
    reason = Text(max_length=MAX_TEXT)
    effective_on = Day(help_text=_("From this date the new terms apply (today or later)."))


# --- views ------------------------------------------------------------------------------------------
class ClassificationList(APIView):
    @extend_schema(
        parameters=[ClassificationQuery],
        responses={200: paginated(ClassificationChangeSerializer), **problems(400)},
        operation_id="classifications_list",
        summary="Classification history you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ClassificationQuery, request.query_params)
        qs = selectors.classification_history(
            viewer=acting_user(request),
            facility_id=query.get("facility"),
            party_id=query.get("party"),
            category=query.get("category"),
        )
        return paginate(request, self, qs, ClassificationChangeSerializer)

    @extend_schema(
        request=ClassificationRequestInput,
        responses={201: ClassificationRequestSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Propose a classification and stage (a monitoring officer); someone else decides",
        description="400 below the rules' floor; 409 while another request for the facility is pending.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = parse(ClassificationRequestInput, request.data)
        row = classification_services.request_classification(
            actor=acting_user(request),
            facility_id=data["facility"],
            category=data["category"],
            stage=data["stage"],
            reason=data["reason"],
        )
        return Response(ClassificationRequestSerializer(row).data, status=status.HTTP_201_CREATED)


class ClassificationRequestList(APIView):
    @extend_schema(
        parameters=[ClassificationRequestQuery],
        responses={200: paginated(ClassificationRequestSerializer), **problems(400)},
        operation_id="classification_requests_list",
        summary="Manual classification requests you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ClassificationRequestQuery, request.query_params)
        qs = selectors.classification_requests(
            viewer=acting_user(request), facility_id=query.get("facility"), status=query.get("status")
        )
        return paginate(request, self, qs, ClassificationRequestSerializer)


class ClassificationRequestDetail(APIView):
    @extend_schema(responses={200: ClassificationRequestSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        row = selectors.classification_request(viewer=acting_user(request), request_id=pk)
        return Response(ClassificationRequestSerializer(row).data)


class ClassificationRequestDecision(APIView):
    @extend_schema(
        request=FourEyesDecisionInput,
        responses={200: ClassificationRequestSerializer, **problems(400, 403, 404, 409)},
        summary="Approve or reject a request (an oversight approver other than the requester)",
        description="A rejection needs a note; 409 when already decided or now below the rules' floor.",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        found = selectors.classification_request(viewer=actor, request_id=pk)  # 404 before reading input
        data = parse(FourEyesDecisionInput, request.data)
        row = classification_services.decide_classification_request(
            actor=actor, request_id=found.pk, approve=data["approve"], note=data["note"]
        )
        return Response(
            ClassificationRequestSerializer(
                selectors.classification_request(viewer=actor, request_id=row.pk)
            ).data
        )


class ClassificationRequestWithdraw(APIView):
    @extend_schema(
        request=None,
        responses={200: ClassificationRequestSerializer, **problems(403, 404, 409)},
        summary="Withdraw your own pending request",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        found = selectors.classification_request(viewer=actor, request_id=pk)
        row = classification_services.withdraw_classification_request(actor=actor, request_id=found.pk)
        return Response(
            ClassificationRequestSerializer(
                selectors.classification_request(viewer=actor, request_id=row.pk)
            ).data
        )


class RestructuringList(APIView):
    @extend_schema(
        parameters=[ClassificationRequestQuery],
        responses={200: paginated(RestructuringSerializer), **problems(400)},
        operation_id="restructurings_list",
        summary="Restructurings you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ClassificationRequestQuery, request.query_params)
        qs = selectors.restructurings(
            viewer=acting_user(request), facility_id=query.get("facility"), status=query.get("status")
        )
        return paginate(request, self, qs, RestructuringSerializer)

    @extend_schema(
        request=RestructuringInput,
        responses={201: RestructuringSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Ask to restructure a facility (a monitoring officer or the RM); someone else approves",
        description=(
            "Terms: maturity_date, interest_rate_pct (fixed) or margin_pct (floating), profile, "
            "frequency_months, grace_months, grace_kind, balloon_amount. They are checked by building the "
            "schedule they would give; nothing changes until approval."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = parse(RestructuringInput, request.data)
        terms: dict[str, Any] = dict(data["terms"])
        row = restructuring_services.request_restructuring(
            actor=acting_user(request),
            facility_id=data["facility"],
            kind=data["kind"],
            terms=terms,
            reason=data["reason"],
            effective_on=data["effective_on"],
        )
        return Response(RestructuringSerializer(row).data, status=status.HTTP_201_CREATED)


class RestructuringDetail(APIView):
    @extend_schema(responses={200: RestructuringSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        row = selectors.restructuring(viewer=acting_user(request), restructuring_id=pk)
        return Response(RestructuringSerializer(row).data)


class RestructuringDecision(APIView):
    @extend_schema(
        request=FourEyesDecisionInput,
        responses={200: RestructuringSerializer, **problems(400, 403, 404, 409)},
        summary="Approve (new terms and schedule take effect) or reject (with a note) a restructuring",
        description="Someone other than the requester; 409 when decided already or the terms no longer fit.",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        found = selectors.restructuring(viewer=actor, restructuring_id=pk)  # 404 before reading input
        data = parse(FourEyesDecisionInput, request.data)
        row = restructuring_services.decide_restructuring(
            actor=actor, restructuring_id=found.pk, approve=data["approve"], note=data["note"]
        )
        return Response(
            RestructuringSerializer(selectors.restructuring(viewer=actor, restructuring_id=row.pk)).data
        )


urlpatterns = [
    path("classifications/", ClassificationList.as_view(), name="classification-list"),
    path(
        "classifications/requests/",
        ClassificationRequestList.as_view(),
        name="classification-request-list",
    ),
    path(
        "classifications/requests/<int:pk>/",
        ClassificationRequestDetail.as_view(),
        name="classification-request-detail",
    ),
    path(
        "classifications/requests/<int:pk>/decision/",
        ClassificationRequestDecision.as_view(),
        name="classification-request-decision",
    ),
    path(
        "classifications/requests/<int:pk>/withdraw/",
        ClassificationRequestWithdraw.as_view(),
        name="classification-request-withdraw",
    ),
    path("restructurings/", RestructuringList.as_view(), name="restructuring-list"),
    path("restructurings/<int:pk>/", RestructuringDetail.as_view(), name="restructuring-detail"),
    path(
        "restructurings/<int:pk>/decision/",
        RestructuringDecision.as_view(),
        name="restructuring-decision",
    ),
]
