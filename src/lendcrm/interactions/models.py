"""Every channel in one timeline: interactions, and the tasks that follow from them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import VersionedModel
from lendcrm.core.personal import personal
from lendcrm.parties.models import Contact, Party


class Channel(models.TextChoices):
    BRANCH = "branch", _("Branch")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web")
    MOBILE_APP = "mobile_app", _("Mobile app")
    PARTNER_PLATFORM = "partner_platform", _("Partner platform")
    ASSISTANT = "assistant", _("Assistant")
    MEETING = "meeting", _("Meeting")
    SITE_VISIT = "site_visit", _("Site visit")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")


class Interaction(models.Model):
    """One contact with a customer, from any channel; `(source_system, external_id)` is unique."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="interactions")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    subject = personal(
        models.CharField(_("subject"), max_length=300),
        category="free_text",
        purpose="relationship",
        retention="relationship",
    )
    notes = personal(
        models.TextField(_("notes"), blank=True),
        category="free_text",
        purpose="relationship",
        retention="relationship",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_system = models.CharField(_("source system"), max_length=50, default="lendcrm")
    # NULL, not "", when a channel sends no id: the partial unique constraint then skips the row.
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="interaction_source_external_once",
            )
        ]
        indexes = [
            models.Index(fields=["party", "-occurred_at", "-id"], name="interaction_party_time"),
            models.Index(fields=["staff", "-occurred_at"], name="interaction_staff_time"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.occurred_at:%Y-%m-%d}"


class TaskKind(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Follow-up")
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    DOCUMENT = "document", _("Document request")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(VersionedModel):
    """A follow-up, call or visit on a party, owned by one assignee."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    title = personal(
        models.CharField(_("title"), max_length=200),
        category="free_text",
        purpose="relationship",
        retention="relationship",
    )
    description = personal(
        models.TextField(_("description"), blank=True),
        category="free_text",
        purpose="relationship",
        retention="relationship",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("assignee")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"], name="task_assignee_open"),
            models.Index(fields=["party", "status", "due_date"], name="task_party_open"),
            models.Index(fields=["party", "-created_at"], name="task_party_time"),
            models.Index(fields=["party", "-completed_at"], name="task_party_done_time"),
        ]

    def __str__(self) -> str:
        return self.title
