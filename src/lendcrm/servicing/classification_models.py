"""Five-category classification (五级分类) with the IFRS 9 stage beside it, its history, manual changes
that need a second person, and restructurings that need approval."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """Ordered best to worst; the last three are non-performing (不良)."""

    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


class Stage(models.IntegerChoices):
    ONE = 1, _("Stage 1")
    TWO = 2, _("Stage 2")
    THREE = 3, _("Stage 3")


class ClassificationBasis(models.TextChoices):
    DAYS_PAST_DUE = "days_past_due", _("Days past due")
    RESTRUCTURED = "restructured", _("Restructured")
    CONTAGION = "contagion", _("Debtor-level contagion")
    MANUAL = "manual", _("Manual decision")
    INITIAL = "initial", _("At booking")


class ClassificationChange(models.Model):
    """One change of a facility's category or stage; the current values are on the facility."""

    facility = models.ForeignKey(
        "servicing.Facility", on_delete=models.CASCADE, related_name="classifications"
    )
    category = models.CharField(_("classification"), max_length=20, choices=Category.choices)
    stage = models.PositiveSmallIntegerField(_("IFRS 9 stage"), choices=Stage.choices)
    previous_category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    previous_stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True, blank=True)
    basis = models.CharField(_("basis"), max_length=20, choices=ClassificationBasis.choices)
    days_past_due = models.PositiveIntegerField(_("days past due"))
    reason = models.TextField(_("reason"), blank=True)
    effective_on = models.DateField(_("effective on"))
    recorded_at = models.DateTimeField(_("recorded at"))
    # Empty for the daily job; a manual change names the proposer and the approver.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["facility", "-recorded_at", "-id"]
        verbose_name = _("classification change")
        verbose_name_plural = _("classification changes")
        indexes = [models.Index(fields=["facility", "recorded_at"], name="classification_facility_at")]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.category}/{self.stage}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ClassificationRequest(models.Model):
    """A manual upgrade or downgrade proposed by one person, decided by another (four-eyes)."""

    facility = models.ForeignKey(
        "servicing.Facility", on_delete=models.CASCADE, related_name="classification_requests"
    )
    category = models.CharField(_("proposed classification"), max_length=20, choices=Category.choices)
    stage = models.PositiveSmallIntegerField(_("proposed IFRS 9 stage"), choices=Stage.choices)
    reason = models.TextField(_("reason and evidence"))
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("classification request")
        verbose_name_plural = _("classification requests")
        constraints = [
            models.UniqueConstraint(
                fields=["facility"],
                condition=models.Q(status="pending"),
                name="classification_one_pending_request",
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")), name="classification_four_eyes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.category} {self.status}"


class RestructuringKind(models.TextChoices):
    RESCHEDULE = "reschedule", _("Reschedule")
    TERM_EXTENSION = "term_extension", _("Term extension")
    RATE_CHANGE = "rate_change", _("Rate change")


class Restructuring(models.Model):
    """A versioned change of a facility's terms; takes effect (a new schedule version) only when approved
    by someone other than the requester."""

    facility = models.ForeignKey(
        "servicing.Facility", on_delete=models.CASCADE, related_name="restructurings"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RestructuringKind.choices)
    # The changed terms as asked (new maturity, rate, profile, ...) and the terms they replace.
    terms = models.JSONField(_("new terms"))
    previous_terms = models.JSONField(default=dict)
    reason = models.TextField(_("reason"))
    effective_on = models.DateField(_("effective on"))
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(_("decision note"), blank=True)
    schedule_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("restructuring")
        verbose_name_plural = _("restructurings")
        constraints = [
            models.UniqueConstraint(
                fields=["facility"], condition=models.Q(status="pending"), name="restructuring_one_pending"
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")), name="restructuring_four_eyes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.kind} {self.status}"
