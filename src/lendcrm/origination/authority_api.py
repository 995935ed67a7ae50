"""REST API for credit decisions: an application's decisions, votes and conditions (and posting one),
its group exposure, the approval ladder under the active matrix, and resolving a condition. Parse, call
a service or selector, render."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    OPTIONAL_IF_MATCH,
    StrictSerializer,
    acting_user,
    idempotent,
    optional_version,
    parse,
    problems,
    with_etag,
)
from lendcrm.core.fields import Choice, Text
from lendcrm.core.models import User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.origination import authority
from lendcrm.origination.models import (
    AuthorityLevel,
    CommitteeVote,
    Condition,
    ConditionStatus,
    Decision,
    Outcome,
    Status,
    Vote,
)
from lendcrm.origination.services import decisions


def _amount(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, read_only=True, **kwargs
    )


# --- output ---------------------------------------------------------------------------------------
class StaffRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name"]
        read_only_fields = fields


class LevelRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuthorityLevel
        fields = ["id", "slug", "name", "local_name", "rank", "is_committee", "quorum"]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = StaffRefSerializer()
    level: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    matrix = serializers.IntegerField(source="matrix.number", help_text=_("The matrix version applied."))
    group_exposure = _amount(help_text=_("The connected group's exposure when decided."))

    class Meta:
        model = Decision
        fields = [
            "id",
            "round",
            "outcome",
            "decided_by",
            "decided_at",
            "level",
            "matrix",
            "memo_version",
            "risk_grade",
            "group_exposure",
            "exposure_currency",
            "comment",
        ]
        read_only_fields = fields


class VoteSerializer(serializers.ModelSerializer):
    member = StaffRefSerializer()

    class Meta:
        model = CommitteeVote
        fields = ["id", "round", "member", "vote", "comment", "cast_at"]
        read_only_fields = fields


class ConditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Condition
        fields = ["id", "decision", "kind", "text", "status", "note", "resolved_at", "resolved_by"]
        read_only_fields = fields


class DecisionRecordSerializer(serializers.Serializer):
    application = serializers.IntegerField(source="application.pk")
    status = serializers.ChoiceField(source="application.status", choices=Status.choices)
    round = serializers.IntegerField(source="application.decision_round", help_text=_("The current round."))
    required_level = LevelRefSerializer(
        source="application.required_level", allow_null=True, help_text=_("Set when routed or referred up.")
    )
    decisions = DecisionSerializer(many=True)
    votes = VoteSerializer(many=True)
    conditions = ConditionSerializer(many=True)


class ExposureMemberSerializer(serializers.Serializer):
    """A group member with exposure; `restricted` ones are out of your scope: figures without a name."""

    party_id = serializers.IntegerField(allow_null=True)
    legal_name = serializers.CharField(allow_null=True)
    local_name = serializers.CharField(allow_null=True)
    restricted = serializers.BooleanField()
    is_borrower = serializers.BooleanField()
    existing = _amount()
    requested = _amount()
    total = _amount()


class ExposureSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text=_("The base currency every amount is converted to."))
    existing = _amount(
        help_text=_(
            "On the group's other applications approved but not yet booked, plus the limits of the "
            "group's active booked facilities."
        )
    )
    requested = _amount(help_text=_("This application's facilities."))
    total = _amount()
    member_count = serializers.IntegerField(
        help_text=_("Parties in the connected group, the borrower included.")
    )
    members = ExposureMemberSerializer(many=True)


class LimitSerializer(serializers.Serializer):
    max_group_exposure = _amount(allow_null=True, help_text=_("Null: unlimited."))
    worst_grade = serializers.IntegerField()
    products = serializers.ListField(
        child=serializers.CharField(), source="product_codes", help_text=_("Empty: every product.")
    )


class LadderLevelSerializer(LevelRefSerializer):
    limit = serializers.SerializerMethodField()

    class Meta(LevelRefSerializer.Meta):
        fields = [*LevelRefSerializer.Meta.fields, "limit"]

    @extend_schema(responses=LimitSerializer(allow_null=True))
    def get_limit(self, level: AuthorityLevel) -> dict[str, Any] | None:
        limit = self.context["limits"].get(level.pk)
        return None if limit is None else LimitSerializer(limit).data


class LadderSerializer(serializers.Serializer):
    matrix = serializers.IntegerField(allow_null=True, help_text=_("The active matrix version."))
    currency = serializers.CharField(allow_null=True)
    levels = LadderLevelSerializer(many=True)


# --- input ----------------------------------------------------------------------------------------
class DecisionInput(StrictSerializer):
    """A decision (`outcome`) or, when a committee decides, a vote (`vote`): exactly one of them."""

    outcome = Choice(choices=Outcome.choices, required=False)
    vote = Choice(choices=Vote.choices, required=False)
    comment = Text(
        max_length=decisions.MAX_COMMENT,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Required to decline or refer up, for a decline vote (the dissent) and a vote with conditions."
        ),
    )
    conditions = serializers.ListField(
        child=Text(max_length=decisions.MAX_CONDITION),
        required=False,
        default=list,
        max_length=decisions.MAX_CONDITIONS,
        help_text=_("Required (at least one) to approve with conditions."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("outcome" in attrs) == ("vote" in attrs):
            raise serializers.ValidationError(_("Send either an outcome or a vote."))
        if "vote" in attrs and attrs.get("conditions"):
            raise serializers.ValidationError(
                {"conditions": [_("A vote states its conditions in its comment.")]}
            )
        return attrs


class ConditionInput(StrictSerializer):
    status = Choice(choices=[(s.value, s.label) for s in (ConditionStatus.MET, ConditionStatus.WAIVED)])
    note = Text(max_length=decisions.MAX_NOTE, help_text=_("The evidence it is met, or why it is waived."))


# --- views ----------------------------------------------------------------------------------------
def _record_response(viewer: User, application_id: object, code: int = status.HTTP_200_OK) -> Response:
    record = authority.decision_record(viewer=viewer, application_id=application_id)
    return with_etag(Response(DecisionRecordSerializer(record).data, status=code), record.application)


class ApplicationDecisions(APIView):
    @extend_schema(
        responses={200: DecisionRecordSerializer, **problems(404)},
        summary="The application's decisions, committee votes and conditions",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _record_response(acting_user(request), pk)

    @extend_schema(
        request=DecisionInput,
        responses={201: DecisionRecordSerializer, **problems(400, 403, 404, 409, 412, 422)},
        parameters=[OPTIONAL_IF_MATCH, IDEMPOTENCY_PARAMETER],
        summary="Decide the application, or cast a committee vote",
        description=(
            "The authority is checked against the application as it stands now (group exposure, risk "
            "grade, products): 403 `beyond_authority`, `maker_cannot_approve`, `no_delegation`, "
            "`delegation_expired` or `delegation_revoked`; 409 `not_awaiting_decision`, "
            "`committee_vote_required` (send a vote), `committee_not_required` or `already_voted`. When "
            "the votes of a round reach the committee's quorum the decision is written; abstentions count "
            "to the quorum, not the majority, and a tie declines."
        ),
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        application = authority.visible_application(viewer=actor, application_id=pk)
        version = optional_version(request, application)
        data = parse(DecisionInput, request.data)
        if "vote" in data:
            decisions.cast_vote(
                actor=actor,
                application_id=application.pk,
                vote=data["vote"],
                comment=data["comment"],
                expected_version=version,
            )
        else:
            decisions.decide(
                actor=actor,
                application_id=application.pk,
                outcome=data["outcome"],
                comment=data["comment"],
                conditions=data["conditions"],
                expected_version=version,
            )
        return _record_response(actor, application.pk, status.HTTP_201_CREATED)


class ApplicationExposure(APIView):
    @extend_schema(
        responses={200: ExposureSerializer, **problems(404, 409)},
        summary="Existing and requested exposure of the borrower's connected group",
        description=(
            "In the base currency; what the authority check uses. Members outside your scope are listed "
            "as `restricted`, with their figures but without id or name. 409 `no_fx_rate` when a "
            "facility's currency has no configured rate."
        ),
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        application = authority.visible_application(viewer=viewer, application_id=pk)
        exposure = authority.group_exposure(application, viewer=viewer)
        return Response(ExposureSerializer(exposure).data)


class AuthorityLevels(APIView):
    @extend_schema(
        responses={200: LadderSerializer},
        summary="The approval levels with their limits under the active authority matrix",
    )
    def get(self, request: Request) -> Response:
        acting_user(request)
        matrix, ladder = authority.level_ladder()
        limits = {level.pk: limit for level, limit in ladder if limit is not None}
        payload = {
            "matrix": matrix.number if matrix else None,
            "currency": matrix.currency if matrix else None,
            "levels": [level for level, _limit in ladder],
        }
        return Response(LadderSerializer(payload, context={"limits": limits}).data)


class ConditionDetail(APIView):
    @extend_schema(
        request=ConditionInput,
        responses={200: ConditionSerializer, **problems(400, 403, 404, 409)},
        summary="Mark a condition of approval met (with evidence) or waive it (approvers, with a reason)",
    )
    def patch(self, request: Request, pk: int, condition_id: int) -> Response:
        actor = acting_user(request)
        application = authority.visible_application(viewer=actor, application_id=pk)
        data = parse(ConditionInput, request.data)
        condition = decisions.resolve_condition(
            actor=actor,
            application_id=application.pk,
            condition_id=condition_id,
            status=data["status"],
            note=data["note"],
        )
        return Response(ConditionSerializer(condition).data)
