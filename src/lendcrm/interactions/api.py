"""REST API for interactions (single and batch ingest), tasks and a party's timeline: parse, call, render."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    OPTIONAL_IF_MATCH,
    StrictSerializer,
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
from lendcrm.core.fields import AwareDateTime, Text, id_field, query_id_field
from lendcrm.core.models import User
from lendcrm.core.selectors import staff_members
from lendcrm.interactions import selectors, services
from lendcrm.interactions.models import Channel, Direction, Interaction, Task, TaskKind, TaskStatus
from lendcrm.parties.selectors import get_party


# --- output --------------------------------------------------------------------------------------
class InteractionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        fields = [
            "id",
            "party",
            "contact",
            "channel",
            "direction",
            "occurred_at",
            "subject",
            "notes",
            "staff",
            "source_system",
            "external_id",
            "created_at",
        ]
        read_only_fields = fields


class TaskSerializer(serializers.ModelSerializer):
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "party",
            "kind",
            "title",
            "description",
            "assignee",
            "created_by",
            "due_date",
            "status",
            "completed_at",
            "completed_by",
            "version",
            "is_overdue",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, task: Task) -> bool:
        return task.status == TaskStatus.OPEN and task.due_date < timezone.localdate()


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text=_("Position of the item in the request."))
    id = serializers.IntegerField(help_text=_("The stored interaction, new or already there."))
    created = serializers.BooleanField(help_text=_("False when the item was a re-send."))


class BatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    results = BatchItemResultSerializer(many=True, source="items")


class ChangeSerializer(serializers.Serializer):
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    changed = serializers.ListField(
        child=serializers.CharField(),
        source="fields",
        help_text=_("Names of the changed fields, never values."),
    )


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(selectors.KIND_RANK))
    occurred_at = serializers.DateTimeField()
    id = serializers.IntegerField(help_text=_("Id of the interaction, task or audit event."))
    actor = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    interaction = InteractionSerializer(allow_null=True)
    task = TaskSerializer(allow_null=True)
    change = ChangeSerializer(allow_null=True)


class TimelinePageSerializer(serializers.Serializer):
    results = TimelineEntrySerializer(many=True, source="entries")
    next = serializers.CharField(allow_null=True, help_text=_("Pass as `cursor` for the next page."))


# --- input ---------------------------------------------------------------------------------------
class InteractionInput(StrictSerializer):
    """One interaction from a channel."""

    party = id_field()
    contact = id_field(required=False, allow_null=True, default=None)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    occurred_at = AwareDateTime(help_text=_("With a time zone; at most one day ahead."))
    subject = Text(max_length=300)
    notes = Text(max_length=100_000, required=False, allow_blank=True, default="")
    source_system = Text(max_length=50, required=False, default="lendcrm")
    external_id = Text(
        max_length=100,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("With source_system, makes a re-send a no-op."),
    )


class BatchItems(serializers.ListSerializer[Any]):
    """The items of a batch; its own class so the schema can state the size limits."""


class BatchItemsSchema(OpenApiSerializerFieldExtension):
    """Add minItems/maxItems, which drf-spectacular leaves out for nested list serializers."""

    target_class = BatchItems

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        schema.update(minItems=self.target.min_length, maxItems=self.target.max_length)
        return schema


class BatchInput(StrictSerializer):
    """Up to 1,000 interactions, recorded all or nothing."""

    items = BatchItems(child=InteractionInput(), min_length=1, max_length=settings.LENDCRM_MAX_BATCH)


class InteractionQuery(serializers.Serializer):
    party = query_id_field(required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    since = AwareDateTime(required=False, help_text=_("occurred_at at or after"))
    until = AwareDateTime(required=False, help_text=_("occurred_at before"))


class TaskInput(StrictSerializer):
    """A new task on a party."""

    party = id_field()
    title = Text(max_length=200)
    due_date = serializers.DateField()
    assignee = id_field(required=False, allow_null=True, default=None, help_text=_("Defaults to you."))
    kind = serializers.ChoiceField(choices=TaskKind.choices, required=False, default=TaskKind.FOLLOW_UP)
    description = Text(max_length=100_000, required=False, allow_blank=True, default="")


class TaskUpdateInput(StrictSerializer):
    """The fields of a task that may change; send only those that do."""

    title = Text(max_length=200, required=False)
    description = Text(max_length=100_000, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=TaskKind.choices, required=False)
    due_date = serializers.DateField(required=False)
    status = serializers.ChoiceField(
        choices=[
            (TaskStatus.OPEN, TaskStatus.OPEN.label),
            (TaskStatus.CANCELLED, TaskStatus.CANCELLED.label),
        ],
        required=False,
        help_text=_("Cancel or reopen; complete a task with its complete action."),
    )


class ReassignInput(StrictSerializer):
    """Who takes the task over."""

    assignee = id_field()


class TaskQuery(serializers.Serializer):
    mine = serializers.BooleanField(required=False, help_text=_("Only tasks assigned to you."))
    overdue = serializers.BooleanField(required=False, help_text=_("Only open tasks past their due date."))
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    party = query_id_field(required=False)


class TimelineQuery(serializers.Serializer):
    cursor = serializers.CharField(
        required=False, max_length=500, help_text=_("`next` of the previous page.")
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=selectors.MAX_TIMELINE_LIMIT, default=50
    )


def _assignee(user_id: int | None) -> User | None:
    """A member of staff by id; an unknown id reads like one who cannot see the party (no enumeration)."""
    if user_id is None:
        return None
    return staff_members([user_id], field="assignee", unknown=str(_("This user cannot see this party.")))[0]


def _batch_refusal(detail: Any) -> Exception:
    """Item-level format errors shaped like the service's own refusal: keyed `items.<index>.<field>`,
    with the bad indexes in `invalid_items`."""
    items = detail.get("items")
    if not (isinstance(items, dict) and items and all(isinstance(k, int) for k in items)):
        return exceptions.ValidationError(detail)
    field_errors: dict[str, list[str]] = {}
    for index, item_errors in items.items():
        if not isinstance(item_errors, dict):
            field_errors[f"items.{index}"] = [str(m) for m in item_errors]
            continue
        for name, messages in item_errors.items():
            key = f"items.{index}" if name == api_settings.NON_FIELD_ERRORS_KEY else f"items.{index}.{name}"
            field_errors[key] = [str(m) for m in messages]
    return errors.ValidationFailed(
        _("%(n)d items are not valid; nothing was written.") % {"n": len(items)},
        field_errors=field_errors,
        extra={"invalid_items": sorted(items)},
    )


# --- interactions --------------------------------------------------------------------------------
class InteractionList(APIView):
    @extend_schema(
        parameters=[InteractionQuery],
        responses={200: paginated(InteractionSerializer), **problems(400)},
        operation_id="interactions_list",
        summary="Interactions you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(InteractionQuery, request.query_params)
        qs = selectors.interaction_list(
            viewer=acting_user(request),
            party_id=query.get("party"),
            channel=query.get("channel"),
            since=query.get("since"),
            until=query.get("until"),
        )
        return paginate(request, self, qs, InteractionSerializer)

    @extend_schema(
        request=InteractionInput,
        responses={
            201: InteractionSerializer,
            200: InteractionSerializer,
            **problems(400, 403, 404, 409, 422),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Record one interaction",
        description=(
            "201 when recorded; 200 with the stored interaction when (source_system, external_id) "
            "was already recorded for this party (a re-send); 409 when it belongs to another party."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(InteractionInput, request.data)
        party = get_party(viewer=actor, party_id=data.pop("party"))
        contact_id = data.pop("contact")
        contact = selectors.contact_at_party(party=party, contact_id=contact_id) if contact_id else None
        interaction, created = services.log_interaction(actor=actor, party=party, contact=contact, **data)
        return Response(
            InteractionSerializer(interaction).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class InteractionBatch(APIView):
    @extend_schema(
        request=BatchInput,
        responses={201: BatchResultSerializer, 200: BatchResultSerializer, **problems(400, 403, 413, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Record up to 1,000 interactions, all or nothing",
        description=(
            "Every item is checked first; if any is invalid (including a party you cannot see) the whole "
            "batch is refused with 400, errors keyed `items.<index>.<field>` and `invalid_items` listing "
            "the indexes, and nothing is written. Re-sent items (same source_system and external_id) are "
            "reported with `created: false` and the stored id. 201 when anything was recorded, 200 when "
            "every item was a re-send."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        serializer = BatchInput(data=request.data)
        if not serializer.is_valid():
            raise _batch_refusal(serializer.errors)
        items = [dict(i) for i in serializer.validated_data["items"]]
        result = services.ingest_batch(actor=actor, items=items)
        return Response(
            BatchResultSerializer(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class InteractionDetail(APIView):
    @extend_schema(responses={200: InteractionSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        interaction = selectors.get_interaction(viewer=acting_user(request), interaction_id=pk)
        return Response(InteractionSerializer(interaction).data)


# --- tasks ---------------------------------------------------------------------------------------
class TaskList(APIView):
    @extend_schema(
        parameters=[TaskQuery],
        responses={200: paginated(TaskSerializer), **problems(400)},
        operation_id="tasks_list",
        summary="Tasks you may see, soonest due first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(TaskQuery, request.query_params)
        qs = selectors.task_list(
            viewer=acting_user(request),
            mine=bool(query.get("mine")),
            overdue=bool(query.get("overdue")),
            status=query.get("status"),
            party_id=query.get("party"),
        )
        return paginate(request, self, qs, TaskSerializer)

    @extend_schema(
        request=TaskInput,
        responses={201: TaskSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Open a task on a party",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(TaskInput, request.data)
        party = get_party(viewer=actor, party_id=data.pop("party"))
        data["assignee"] = _assignee(data["assignee"])
        task = services.create_task(actor=actor, party=party, **data)
        return with_etag(Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED), task)


class TaskDetail(APIView):
    @extend_schema(responses={200: TaskSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        task = selectors.get_task(viewer=acting_user(request), task_id=pk)
        return with_etag(Response(TaskSerializer(task).data), task)

    @extend_schema(
        request=TaskUpdateInput,
        responses={200: TaskSerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change a task (If-Match required)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        task = selectors.get_task(viewer=actor, task_id=pk)
        version = expected_version(request, task)
        data = parse(TaskUpdateInput, request.data)
        task = services.update_task(actor=actor, task=task, expected_version=version, **data)
        return with_etag(Response(TaskSerializer(task).data), task)


class TaskComplete(APIView):
    @extend_schema(
        request=None,
        responses={200: TaskSerializer, **problems(403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Mark a task done (409 if it is not open)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        task = selectors.get_task(viewer=actor, task_id=pk)
        task = services.complete_task(
            actor=actor, task=task, expected_version=optional_version(request, task)
        )
        return with_etag(Response(TaskSerializer(task).data), task)


class TaskReassign(APIView):
    @extend_schema(
        request=ReassignInput,
        responses={200: TaskSerializer, **problems(400, 403, 404, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Hand a task to someone who can see its party",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        task = selectors.get_task(viewer=actor, task_id=pk)
        version = optional_version(request, task)
        assignee = _assignee(parse(ReassignInput, request.data)["assignee"])
        assert assignee is not None
        task = services.reassign_task(actor=actor, task=task, assignee=assignee, expected_version=version)
        return with_etag(Response(TaskSerializer(task).data), task)


# --- timeline ------------------------------------------------------------------------------------
class PartyTimeline(APIView):
    @extend_schema(
        parameters=[TimelineQuery],
        responses={200: TimelinePageSerializer, **problems(400, 404)},
        summary="A party's interactions, tasks and changes, newest first",
        description=(
            "Cursor-paginated: pass `next` back as `cursor`; `next` is null on the last page. Changes "
            "name the fields that changed, never their values."
        ),
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        party = selectors.timeline_party(viewer=viewer, party_id=pk)
        query = parse_query(TimelineQuery, request.query_params)
        page = selectors.timeline(
            viewer=viewer, party=party, cursor=query.get("cursor"), limit=query["limit"]
        )
        return Response(TimelinePageSerializer(page).data)
