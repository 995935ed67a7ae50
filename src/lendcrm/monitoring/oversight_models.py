"""Reviews and site visits, early-warning signals and the watchlist."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import VersionedModel
from lendcrm.parties.models import Party, Segment


class ReviewKind(models.TextChoices):
    ANNUAL_REVIEW = "annual_review", _("Annual credit review")
    SITE_VISIT = "site_visit", _("Site visit")


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class ReviewPolicy(models.Model):
    """How often a review or visit is due for a segment and a band of risk grades (higher is worse)."""

    kind = models.CharField(_("kind"), max_length=20, choices=ReviewKind.choices)
    segment = models.CharField(_("segment"), max_length=30, choices=Segment.choices, blank=True)
    min_grade = models.PositiveSmallIntegerField(_("from grade"), default=1)
    max_grade = models.PositiveSmallIntegerField(_("to grade"), default=99)
    interval_months = models.PositiveSmallIntegerField(_("every (months)"))

    class Meta:
        ordering = ["kind", "segment", "min_grade"]
        verbose_name = _("review policy")
        verbose_name_plural = _("review policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_grade__lte=models.F("max_grade")), name="review_policy_grade_band"
            ),
            models.CheckConstraint(condition=models.Q(interval_months__gt=0), name="review_policy_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.segment or '*'} {self.min_grade}-{self.max_grade}: {self.interval_months}m"


class Review(VersionedModel):
    """A scheduled annual review or site visit (回访) of a party, and its report once done."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("party")
    )
    facility = models.ForeignKey(
        "servicing.Facility", on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ReviewKind.choices)
    due_date = models.DateField(_("due date"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("assigned to")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.SCHEDULED
    )
    # The visit report.
    visited_on = models.DateField(_("visited on"), null=True, blank=True)
    people_met = models.CharField(_("people met"), max_length=300, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    site_condition = models.TextField(_("site and operations"), blank=True)
    recommendation = models.TextField(_("recommendation"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [
            models.Index(fields=["status", "due_date"], name="review_status_due"),
            models.Index(fields=["assigned_to", "status"], name="review_assignee_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "kind"], condition=models.Q(status="scheduled"), name="review_one_scheduled"
            )
        ]

    def __str__(self) -> str:
        return f"{self.party_id} {self.kind} {self.due_date}"


class SignalRule(models.TextChoices):
    DAYS_PAST_DUE = "days_past_due", _("Days past due")
    COVENANT_BREACH = "covenant_breach", _("Covenant breach")
    LATE_REPORTING = "late_reporting", _("Late reporting")
    RATING_DOWNGRADE = "rating_downgrade", _("Rating downgrade")
    REVENUE_DECLINE = "revenue_decline", _("Falling revenue")
    DSCR_DECLINE = "dscr_decline", _("Falling DSCR")
    UTILISATION_SPIKE = "utilisation_spike", _("Utilisation spike")
    KYC_OVERDUE = "kyc_overdue", _("KYC review overdue")
    COMPLAINTS = "complaints", _("Complaints")
    REVIEW_OVERDUE = "review_overdue", _("Review overdue")
    GROUP_NPL = "group_npl", _("Group member non-performing")


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class SignalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLEARED = "cleared", _("Cleared")
    DISMISSED = "dismissed", _("Dismissed")


class Signal(models.Model):
    """An early-warning signal on a party; one open signal per rule and subject, so a re-run of the daily
    job refreshes it instead of adding another."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="signals", verbose_name=_("party")
    )
    facility = models.ForeignKey(
        "servicing.Facility", on_delete=models.SET_NULL, null=True, blank=True, related_name="signals"
    )
    rule = models.CharField(_("rule"), max_length=30, choices=SignalRule.choices)
    # What the signal is about within the rule (a facility, a covenant test, a period), for idempotency.
    subject = models.CharField(max_length=60)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    # What the sentence says, kept so each reader sees it in their own language: a message key of
    # `signal_rules.MESSAGES` and its parameters (JSON primitives: dates as ISO strings, decimals as
    # strings, categories and review kinds as their codes). `detail` is the same sentence in the site's
    # default language (LANGUAGE_CODE), a plain record for the audit trail, the admin and the rows
    # written without a key (by hand, older rows); `signal_rules.describe` falls back to it.
    detail_key = models.CharField(_("message"), max_length=40, blank=True)
    detail_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    detail = models.CharField(_("detail"), max_length=500)
    status = models.CharField(
        _("status"), max_length=10, choices=SignalStatus.choices, default=SignalStatus.OPEN
    )
    raised_on = models.DateField(_("raised on"))
    last_seen_on = models.DateField(_("last seen on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dismissal_reason = models.TextField(_("reason for dismissal"), blank=True)

    class Meta:
        ordering = ["-severity", "-raised_on", "-id"]
        verbose_name = _("early-warning signal")
        verbose_name_plural = _("early-warning signals")
        indexes = [models.Index(fields=["party", "status"], name="signal_party_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "rule", "subject"], condition=models.Q(status="open"), name="signal_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.party_id} {self.rule}:{self.subject}"


class WatchSource(models.TextChoices):
    RULE = "rule", _("By rule")
    MANUAL = "manual", _("By hand")


class WatchStatus(models.TextChoices):
    ACTIVE = "active", _("On watch")
    EXIT_REQUESTED = "exit_requested", _("Exit requested")
    EXITED = "exited", _("Left the watchlist")


class WatchlistEntry(VersionedModel):
    """A party on watch, with an action plan, an owner and a review date; leaving needs approval."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="watchlist_entries", verbose_name=_("party")
    )
    source = models.CharField(_("source"), max_length=10, choices=WatchSource.choices)
    reason = models.TextField(_("reason"))
    # By rule: the signal's message at the time, said in the reader's language (see Signal.detail_key);
    # `reason` keeps the sentence in the site's default language. Empty for entries made by hand.
    reason_key = models.CharField(_("message"), max_length=40, blank=True)
    reason_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    action_plan = models.TextField(_("action plan"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    review_date = models.DateField(_("review date"))
    status = models.CharField(
        _("status"), max_length=20, choices=WatchStatus.choices, default=WatchStatus.ACTIVE
    )
    signal = models.ForeignKey(Signal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    added_at = models.DateTimeField(_("added at"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exit_reason = models.TextField(_("reason to leave"), blank=True)
    exit_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exit_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exited_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        ordering = ["review_date", "id"]
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["party"], condition=~models.Q(status="exited"), name="watchlist_one_live_per_party"
            ),
            models.CheckConstraint(
                condition=~models.Q(exit_approved_by=models.F("exit_requested_by")),
                name="watchlist_exit_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id} {self.status}"
