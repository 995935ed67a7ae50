"""Every write to interactions and tasks: one transaction each, audited in the same transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version
from lendcrm.core.fields import MAX_ID
from lendcrm.core.models import User
from lendcrm.interactions.models import Channel, Direction, Interaction, Task, TaskKind, TaskStatus
from lendcrm.parties.models import Contact, ContactRole, Party
from lendcrm.parties.selectors import can_see_party, visible_parties

INTERACTION_FIELDS = (
    "party_id",
    "contact_id",
    "channel",
    "direction",
    "occurred_at",
    "subject",
    "notes",
    "staff_id",
    "source_system",
    "external_id",
)
TASK_FIELDS = (
    "party_id",
    "kind",
    "title",
    "description",
    "assignee_id",
    "created_by_id",
    "due_date",
    "status",
    "completed_at",
    "completed_by_id",
)
# Fields an update may change; completion and reassignment have their own services.
TASK_UPDATABLE = frozenset({"title", "description", "kind", "due_date", "status"})
BATCH_ITEM_KEYS = frozenset(
    {
        "party",
        "contact",
        "channel",
        "direction",
        "occurred_at",
        "subject",
        "notes",
        "source_system",
        "external_id",
    }
)
BATCH_REQUIRED_KEYS = ("party", "channel", "direction", "occurred_at", "subject")
# A channel's clock may run a little ahead of ours; anything further ahead is a data error.
FUTURE_TOLERANCE = timedelta(days=1)


Problems = dict[str, list[str]]


# --- shared checks ---------------------------------------------------------------------------------
def _require_write(actor: User, party_id: int) -> None:
    """404 when the actor cannot see the party (never a hint it exists), 403 when they may not write."""
    if not can_see_party(viewer=actor, party_id=party_id):
        raise errors.NotFound()
    require_customer_writer(actor)


def _text_problem(value: object, *, max_length: int, required: bool) -> str | None:
    if not isinstance(value, str):
        return _("Must be text.")
    if required and not value.strip():
        return _("This field may not be blank.")
    if len(value) > max_length:
        return _("At most %(n)d characters.") % {"n": max_length}
    return None


def _interaction_problems(values: Mapping[str, Any], now: datetime) -> Problems:
    """Field errors of one interaction's plain values (party and contact are checked by the caller)."""
    problems: Problems = {}
    if values.get("channel") not in Channel.values:
        problems["channel"] = [_("Unknown channel. Known: %(known)s.") % {"known": ", ".join(Channel.values)}]
    if values.get("direction") not in Direction.values:
        problems["direction"] = [
            _("Unknown direction. Known: %(known)s.") % {"known": ", ".join(Direction.values)}
        ]
    occurred_at = values.get("occurred_at")
    if not isinstance(occurred_at, datetime):
        problems["occurred_at"] = [_("A date and time is required.")]
    elif timezone.is_naive(occurred_at):
        problems["occurred_at"] = [_("Give a time zone, e.g. 2025-01-31T09:30:00Z.")]
    elif occurred_at > now + FUTURE_TOLERANCE:
        problems["occurred_at"] = [_("May not be more than one day in the future.")]
    for name, max_length, required in (
        ("subject", 300, True),
        ("notes", 100_000, False),
        ("source_system", 50, True),
    ):
        problem = _text_problem(values.get(name, ""), max_length=max_length, required=required)
        if problem:
            problems[name] = [problem]
    external_id = values.get("external_id")
    if external_id is not None:
        problem = _text_problem(external_id, max_length=100, required=True)
        if problem:
            problems["external_id"] = [problem]
    return problems


def _not_a_contact() -> str:
    return _("This contact has no role at this party.")


# --- interactions ----------------------------------------------------------------------------------
def log_interaction(
    *,
    actor: User,
    party: Party,
    channel: str,
    direction: str,
    occurred_at: datetime,
    subject: str,
    notes: str = "",
    contact: Contact | None = None,
    source_system: str = "lendcrm",
    external_id: str | None = None,
) -> tuple[Interaction, bool]:
    """Record one interaction; a re-send with the same (source_system, external_id) returns the row
    already stored, with created=False, and writes nothing."""
    _require_write(actor, party.pk)
    values = {
        "channel": channel,
        "direction": direction,
        "occurred_at": occurred_at,
        "subject": subject,
        "notes": notes,
        "source_system": source_system,
        "external_id": external_id,
    }
    problems = _interaction_problems(values, timezone.now())
    if (
        contact is not None
        and not ContactRole.objects.filter(contact_id=contact.pk, party_id=party.pk).exists()
    ):
        problems["contact"] = [_not_a_contact()]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    if external_id is not None:
        existing = _stored_interaction(source_system, external_id)
        if existing is not None:
            return _resent(existing, party), False
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a concurrent twice-sent row loses the race cleanly
                interaction = Interaction.objects.create(
                    party=party,
                    contact=contact,
                    channel=channel,
                    direction=direction,
                    occurred_at=occurred_at,
                    subject=subject,
                    notes=notes,
                    staff=actor,
                    source_system=source_system,
                    external_id=external_id,
                )
        except IntegrityError:
            existing = _stored_interaction(source_system, external_id) if external_id is not None else None
            if existing is None:
                raise
            return _resent(existing, party), False
        audit.record(
            actor=actor,
            action="interaction.logged",
            object_type="interaction",
            object_id=interaction.pk,
            party_id=party.pk,
            changes={"after": audit.snapshot(interaction, INTERACTION_FIELDS)},
        )
    return interaction, True


def _stored_interaction(source_system: str, external_id: str) -> Interaction | None:
    return Interaction.objects.filter(source_system=source_system, external_id=external_id).first()


def _resent(existing: Interaction, party: Party) -> Interaction:
    """A re-send belongs to the same party; the same key on another party is a conflict, not a no-op."""
    if existing.party_id != party.pk:
        raise errors.Conflict(
            _("This source system and external id are already recorded for another party."),
            code="external_id_taken",
        )
    return existing


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    id: int
    created: bool


@dataclass(frozen=True)
class BatchResult:
    created: int
    duplicates: int
    items: list[BatchItemResult] = field(default_factory=list)


def ingest_batch(*, actor: User, items: list[dict[str, Any]]) -> BatchResult:
    """Record up to LENDCRM_MAX_BATCH interactions from a channel, all or nothing.

    Every item is checked before anything is written; if any item is invalid the whole batch is
    refused (400, errors keyed `items.<index>.<field>` like any nested input, bad indexes listed in
    `invalid_items`) so a channel can fix and re-send it without working out which half landed.
    Items whose (source_system, external_id) is already stored — or repeated earlier in the batch —
    are reported as duplicates with the stored id. The number of queries does not grow with the
    batch (rows are inserted with bulk_create), and one audit event lists what the batch created."""
    max_batch = int(settings.LENDCRM_MAX_BATCH)
    if not isinstance(items, list) or not items:
        raise errors.field_error("items", _("Send at least one item."))
    if len(items) > max_batch:
        raise errors.field_error("items", _("At most %(n)d items per batch.") % {"n": max_batch})
    require_customer_writer(actor)

    problems: Problems = {}
    now = timezone.now()
    normalised: list[dict[str, Any]] = []
    for index, raw in enumerate(items):
        item, item_problems = _normalise_item(raw, now)
        for name, messages in item_problems.items():
            problems[_item_key(index, name)] = messages
        normalised.append(item)

    party_ids = {i["party"] for i in normalised if isinstance(i.get("party"), int)}
    seen_parties = set(visible_parties(viewer=actor).filter(pk__in=party_ids).values_list("pk", flat=True))
    contact_pairs = {(i["contact"], i["party"]) for i in normalised if isinstance(i.get("contact"), int)}
    valid_contacts: set[tuple[int, int]] = set()
    if contact_pairs:
        valid_contacts = set(
            ContactRole.objects.filter(
                contact_id__in={c for c, _p in contact_pairs}, party_id__in={p for _c, p in contact_pairs}
            ).values_list("contact_id", "party_id")
        )
    stored = _stored_keys(normalised)

    first_in_batch: dict[tuple[str, str], int] = {}
    for index, item in enumerate(normalised):
        party_id = item.get("party")
        if isinstance(party_id, int) and party_id not in seen_parties:
            problems[f"items.{index}.party"] = [_("No such party.")]
        contact_id = item.get("contact")
        if isinstance(contact_id, int) and (contact_id, party_id) not in valid_contacts:
            problems[f"items.{index}.contact"] = [_not_a_contact()]
        key = item.get("_key")
        if key is None:
            continue
        owner = stored[key][1] if key in stored else None
        if key in first_in_batch:
            owner = normalised[first_in_batch[key]]["party"]
        else:
            first_in_batch[key] = index
        if owner is not None and owner != party_id:
            problems[f"items.{index}.external_id"] = [
                _("This source system and external id are already recorded for another party.")
            ]
    if problems:
        bad = sorted({int(k.split(".")[1]) for k in problems})
        raise errors.ValidationFailed(
            _("%(n)d of %(total)d items are not valid; nothing was written.")
            % {"n": len(bad), "total": len(items)},
            field_errors=problems,
            extra={"invalid_items": bad},
        )

    to_create: list[tuple[int, Interaction]] = []
    for index, item in enumerate(normalised):
        key = item["_key"]
        if key is not None and (key in stored or first_in_batch[key] != index):
            continue
        to_create.append(
            (
                index,
                Interaction(
                    party_id=item["party"],
                    contact_id=item["contact"],
                    channel=item["channel"],
                    direction=item["direction"],
                    occurred_at=item["occurred_at"],
                    subject=item["subject"],
                    notes=item["notes"],
                    staff=actor,
                    source_system=item["source_system"],
                    external_id=item["external_id"],
                ),
            )
        )
    with transaction.atomic():
        created = Interaction.objects.bulk_create([row for _i, row in to_create]) if to_create else []
        ids_by_index = {index: row.pk for (index, _row), row in zip(to_create, created, strict=True)}
        if created:
            audit.record(
                actor=actor,
                action="interaction.batch_logged",
                object_type="interaction",
                object_id=created[0].pk,
                changes={"count": len(created), "ids": [row.pk for row in created]},
            )
    results = []
    for index, item in enumerate(normalised):
        key = item["_key"]
        if index in ids_by_index:
            results.append(BatchItemResult(index, ids_by_index[index], True))
        elif key in stored:
            results.append(BatchItemResult(index, stored[key][0], False))
        else:
            results.append(BatchItemResult(index, ids_by_index[first_in_batch[key]], False))
    return BatchResult(created=len(created), duplicates=len(items) - len(created), items=results)


def _item_key(index: int, name: str) -> str:
    """Error keys as the API's problem details name nested fields: items.3.party, or items.3 for the item."""
    return f"items.{index}" if name == "_" else f"items.{index}.{name}"


def _normalise_item(raw: object, now: datetime) -> tuple[dict[str, Any], Problems]:
    """One batch item with defaults filled in, and its field errors (party scope is checked later)."""
    if not isinstance(raw, Mapping):
        return {"_key": None}, {"_": [_("Each item must be an object.")]}
    problems: Problems = {}
    unknown = sorted(set(raw) - BATCH_ITEM_KEYS)
    for name in unknown:
        problems[str(name)] = [_("Unknown field.")]
    for name in BATCH_REQUIRED_KEYS:
        if raw.get(name) is None:
            problems[name] = [_("This field is required.")]
    item: dict[str, Any] = {
        "party": raw.get("party"),
        "contact": raw.get("contact"),
        "channel": raw.get("channel"),
        "direction": raw.get("direction"),
        "occurred_at": raw.get("occurred_at"),
        "subject": raw.get("subject"),
        "notes": raw.get("notes") or "",
        "source_system": raw.get("source_system") or "lendcrm",
        "external_id": raw.get("external_id"),
    }
    for name in ("party", "contact"):
        value = item[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID
        ):
            problems[name] = [_("Must be an id (a whole number).")]
    for name, messages in _interaction_problems(item, now).items():
        problems.setdefault(name, messages)
    item["_key"] = (
        (item["source_system"], item["external_id"])
        if item["external_id"] is not None
        and "external_id" not in problems
        and "source_system" not in problems
        else None
    )
    return item, problems


def _stored_keys(items: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(source_system, external_id) → (interaction id, party id) for keys already stored, in one query."""
    by_source: dict[str, set[str]] = {}
    for item in items:
        if item.get("_key") is not None:
            source, external_id = item["_key"]
            by_source.setdefault(source, set()).add(external_id)
    if not by_source:
        return {}
    condition = Q()
    for source, external_ids in by_source.items():
        condition |= Q(source_system=source, external_id__in=external_ids)
    rows = Interaction.objects.filter(condition).values_list("source_system", "external_id", "pk", "party_id")
    return {(source, str(external_id)): (pk, party_id) for source, external_id, pk, party_id in rows}


# --- tasks -----------------------------------------------------------------------------------------
def _task_problems(values: Mapping[str, Any]) -> Problems:
    problems: Problems = {}
    if "title" in values:
        problem = _text_problem(values["title"], max_length=200, required=True)
        if problem:
            problems["title"] = [problem]
    if "description" in values:
        problem = _text_problem(values["description"], max_length=100_000, required=False)
        if problem:
            problems["description"] = [problem]
    if "kind" in values and values["kind"] not in TaskKind.values:
        problems["kind"] = [_("Unknown kind. Known: %(known)s.") % {"known": ", ".join(TaskKind.values)}]
    if "due_date" in values and (
        not isinstance(values["due_date"], date) or isinstance(values["due_date"], datetime)
    ):
        problems["due_date"] = [_("A date is required.")]
    return problems


def _assignee_problem() -> errors.ValidationFailed:
    return errors.field_error("assignee", _("This user cannot see this party."))


def create_task(
    *,
    actor: User,
    party: Party,
    title: str,
    due_date: date,
    assignee: User | None = None,
    kind: str = TaskKind.FOLLOW_UP,
    description: str = "",
) -> Task:
    """Open a task on a party; it goes to the actor unless someone else who can see the party is named."""
    _require_write(actor, party.pk)
    problems = _task_problems(
        {"title": title, "description": description, "kind": kind, "due_date": due_date}
    )
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    assignee = assignee or actor
    if assignee.pk != actor.pk and not can_see_party(viewer=assignee, party_id=party.pk):
        raise _assignee_problem()
    with transaction.atomic():
        task = Task.objects.create(
            party=party,
            kind=kind,
            title=title,
            description=description,
            assignee=assignee,
            created_by=actor,
            due_date=due_date,
        )
        audit.record(
            actor=actor,
            action="task.created",
            object_type="task",
            object_id=task.pk,
            party_id=party.pk,
            changes={"after": audit.snapshot(task, TASK_FIELDS)},
        )
    return task


@dataclass(frozen=True)
class SystemTask:
    """A task the system opens for someone, e.g. the action a covenant breach needs."""

    party_id: int
    assignee_id: int
    title: str
    due_date: date
    kind: str = TaskKind.FOLLOW_UP
    description: str = ""


def open_system_tasks(*, tasks: Sequence[SystemTask]) -> list[Task]:
    """Open tasks for the people a rule names, in one insert: no actor and no access check (the caller
    chose who is responsible); it runs inside the caller's transaction, whose audit event covers them."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("open_system_tasks must run inside the caller's transaction")
    return Task.objects.bulk_create(
        [
            Task(
                party_id=task.party_id,
                kind=task.kind,
                title=task.title[:200],
                description=task.description,
                assignee_id=task.assignee_id,
                created_by=None,
                due_date=task.due_date,
            )
            for task in tasks
        ]
    )


def _locked_task(actor: User, task: Task, expected_version: int | None) -> Task:
    """The task re-read under a row lock, after the access checks and the version check."""
    _require_write(actor, task.party_id)
    locked = Task.objects.select_for_update().get(pk=task.pk)
    check_version(locked, expected_version)
    return locked


def _save_task_change(actor: User, locked: Task, before: dict[str, Any], action: str) -> None:
    """Save a changed task under a new version and audit what changed, in the caller's transaction."""
    locked.version += 1
    locked.save()
    audit.record(
        actor=actor,
        action=action,
        object_type="task",
        object_id=locked.pk,
        party_id=locked.party_id,
        changes=audit.diff(before, audit.snapshot(locked, TASK_FIELDS)),
    )


def update_task(*, actor: User, task: Task, expected_version: int | None, **fields: Any) -> Task:
    """Change a task's title, description, kind, due date, or cancel/reopen it."""
    unknown = sorted(set(fields) - TASK_UPDATABLE)
    if unknown:
        raise errors.ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    problems = _task_problems(fields)
    status = fields.get("status")
    if status is not None and status not in (TaskStatus.OPEN, TaskStatus.CANCELLED):
        problems["status"] = [_("Set open or cancelled here; complete a task with its complete action.")]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    with transaction.atomic():
        locked = _locked_task(actor, task, expected_version)
        if status == TaskStatus.CANCELLED and locked.status == TaskStatus.DONE:
            raise errors.Conflict(_("A done task cannot be cancelled; reopen it first."), code="task_done")
        before = audit.snapshot(locked, TASK_FIELDS)
        for name, value in fields.items():
            setattr(locked, name, value)
        if status == TaskStatus.OPEN:
            locked.completed_at = None
            locked.completed_by = None
        if audit.snapshot(locked, TASK_FIELDS) == before:
            return locked
        _save_task_change(actor, locked, before, "task.updated")
    return locked


def complete_task(*, actor: User, task: Task, expected_version: int | None = None) -> Task:
    """Mark an open task done; completing it again is a conflict, not a silent success."""
    with transaction.atomic():
        locked = _locked_task(actor, task, expected_version)
        if locked.status != TaskStatus.OPEN:
            raise errors.Conflict(
                _("This task is %(status)s, not open.") % {"status": locked.get_status_display()},
                code="task_not_open",
            )
        before = audit.snapshot(locked, TASK_FIELDS)
        locked.status = TaskStatus.DONE
        locked.completed_at = timezone.now()
        locked.completed_by = actor
        _save_task_change(actor, locked, before, "task.completed")
    return locked


def reassign_task(*, actor: User, task: Task, assignee: User, expected_version: int | None) -> Task:
    """Hand a task to someone else, who must be able to see its party."""
    with transaction.atomic():
        locked = _locked_task(actor, task, expected_version)
        if not can_see_party(viewer=assignee, party_id=locked.party_id):
            raise _assignee_problem()
        if assignee.pk == locked.assignee_id:
            return locked
        before = audit.snapshot(locked, TASK_FIELDS)
        locked.assignee = assignee
        _save_task_change(actor, locked, before, "task.reassigned")
    return locked
