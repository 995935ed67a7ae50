"""The loan book: facilities booked from approved applications, their drawdowns, repayment schedules,
repayments, delinquency, five-category classification with IFRS 9 stage, and restructurings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, VersionedModel
from lendcrm.origination.models import Application, ApplicationFacility
from lendcrm.parties.models import Party
from lendcrm.pipeline.models import BaseRate, Product, RateType, amount_field, rate_field
from lendcrm.servicing.classification_models import (
    Category,
    ClassificationBasis,
    ClassificationChange,
    ClassificationRequest,
    RequestStatus,
    Restructuring,
    RestructuringKind,
    Stage,
)

# Classification tables live in classification_models; every servicing model is importable from here.
__all__ = [
    "Category",
    "ClassificationBasis",
    "ClassificationChange",
    "ClassificationRequest",
    "RequestStatus",
    "Restructuring",
    "RestructuringKind",
    "Stage",
]


class FacilityKind(models.TextChoices):
    TERM = "term", _("Term loan")
    REVOLVING = "revolving", _("Revolving credit")
    PROJECT_FINANCE = "project_finance", _("Project finance")
    GUARANTEE = "guarantee", _("Guarantee")


class ScheduleProfile(models.TextChoices):
    ANNUITY = "annuity", _("Annuity")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    BULLET = "bullet", _("Bullet")
    BALLOON = "balloon", _("Balloon")
    SCULPTED = "sculpted", _("DSCR-sculpted")


class GraceKind(models.TextChoices):
    INTEREST_ONLY = "interest_only", _("Interest only")
    CAPITALISED = "capitalised", _("Interest capitalised")


class DayCount(models.TextChoices):
    ACT_360 = "act_360", _("ACT/360")
    ACT_365F = "act_365f", _("ACT/365 Fixed")
    THIRTY_360 = "30_360", _("30/360 (bond basis)")


class BusinessDayRule(models.TextChoices):
    NONE = "none", _("No adjustment")
    FOLLOWING = "following", _("Following")
    MODIFIED_FOLLOWING = "modified_following", _("Modified following")


class FacilityStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REPAID = "repaid", _("Repaid")
    WRITTEN_OFF = "written_off", _("Written off")


class Facility(VersionedModel):
    """One booked facility: its terms (copied from the approved application's facility, never re-typed),
    and the delinquency and classification state the services keep current."""

    reference = models.CharField(_("reference"), max_length=30, unique=True)
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="booked_facilities", verbose_name=_("application")
    )
    application_facility = models.OneToOneField(
        ApplicationFacility, on_delete=models.PROTECT, related_name="booked", verbose_name=_("approved terms")
    )
    borrower = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="facilities", verbose_name=_("borrower")
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FacilityKind.choices)
    currency = models.CharField(_("currency"), max_length=3)
    limit = amount_field(_("limit"))
    # Rate terms; interest_rate_pct is the all-in rate the schedule uses (base rate value + margin, or fixed).
    rate_type = models.CharField(_("rate type"), max_length=10, choices=RateType.choices)
    base_rate = models.CharField(_("base rate"), max_length=20, choices=BaseRate.choices, blank=True)
    base_rate_pct = rate_field(_("base rate % at booking"))
    margin_pct = rate_field(_("margin %"))
    interest_rate_pct = rate_field(_("interest rate %"), null=False)
    upfront_fee_pct = rate_field(_("upfront fee %"))
    commitment_fee_pct = rate_field(_("commitment fee %"))
    # Schedule conventions.
    profile = models.CharField(_("repayment profile"), max_length=20, choices=ScheduleProfile.choices)
    balloon_amount = amount_field(_("balloon"), null=True)
    grace_months = models.PositiveSmallIntegerField(_("grace period (months)"), default=0)
    grace_kind = models.CharField(
        _("grace period"), max_length=20, choices=GraceKind.choices, default=GraceKind.INTEREST_ONLY
    )
    frequency_months = models.PositiveSmallIntegerField(_("payment every (months)"), default=1)
    day_count = models.CharField(_("day count"), max_length=10, choices=DayCount.choices)
    business_day_rule = models.CharField(
        _("business-day rule"),
        max_length=20,
        choices=BusinessDayRule.choices,
        default=BusinessDayRule.MODIFIED_FOLLOWING,
    )
    target_dscr = models.DecimalField(_("target DSCR"), max_digits=6, decimal_places=3, null=True, blank=True)
    # Sculpted profile: the base-case CFADS per payment date of the facility's grid, as decimal strings.
    sculpting_cfads = models.JSONField(_("CFADS for sculpting"), default=list, blank=True)
    # Allocation of a repayment, e.g. "fees,interest,principal"; empty means the setting's default.
    allocation_order = models.CharField(_("allocation order"), max_length=60, blank=True)
    start_date = models.DateField(_("start date"))
    availability_end = models.DateField(_("available until"))
    construction_end = models.DateField(_("construction ends"), null=True, blank=True)
    maturity_date = models.DateField(_("maturity"))
    security = models.TextField(_("security and collateral"), blank=True)
    lgd = models.DecimalField(_("LGD"), max_digits=5, decimal_places=4)
    status = models.CharField(
        _("status"), max_length=20, choices=FacilityStatus.choices, default=FacilityStatus.ACTIVE
    )
    schedule_version = models.PositiveIntegerField(_("schedule version"), default=0)
    # Kept current by the services and the daily job.
    drawn = amount_field(_("drawn"))
    outstanding_principal = amount_field(_("outstanding principal"))
    arrears_principal = amount_field(_("principal in arrears"))
    arrears_interest = amount_field(_("interest in arrears"))
    arrears_fees = amount_field(_("fees in arrears"))
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    category = models.CharField(
        _("classification"), max_length=20, choices=Category.choices, default=Category.NORMAL
    )
    stage = models.PositiveSmallIntegerField(_("IFRS 9 stage"), choices=Stage.choices, default=Stage.ONE)
    restructured_on = models.DateField(_("restructured on"), null=True, blank=True)
    monitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("monitoring officer"),
    )
    booked_at = models.DateTimeField(_("booked at"))
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-booked_at", "-id"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        indexes = [
            models.Index(fields=["borrower", "status"], name="facility_borrower_status"),
            models.Index(fields=["status", "days_past_due"], name="facility_status_dpd"),
            models.Index(fields=["branch", "status"], name="facility_branch_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(limit__gt=0), name="facility_limit_positive"),
            models.CheckConstraint(
                condition=models.Q(drawn__gte=0, drawn__lte=models.F("limit")),
                name="facility_drawn_within_limit",
            ),
            models.CheckConstraint(
                condition=models.Q(outstanding_principal__gte=0), name="facility_outstanding_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(maturity_date__gt=models.F("start_date")),
                name="facility_matures_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_months__in=[1, 3, 6, 12]), name="facility_frequency_known"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class FacilityGuarantor(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="guarantors")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="guaranteed_facilities")
    amount = amount_field(_("guaranteed amount"), null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["facility", "party"], name="facility_guarantor_once")]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.party_id}"


class Drawdown(models.Model):
    """A tranche paid out under a facility; the sum of drawdowns never exceeds the limit."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="drawdowns")
    reference = models.CharField(_("reference"), max_length=40)
    amount = amount_field(_("amount"))
    value_date = models.DateField(_("value date"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["facility", "value_date", "id"]
        verbose_name = _("drawdown")
        verbose_name_plural = _("drawdowns")
        constraints = [
            models.UniqueConstraint(fields=["facility", "reference"], name="drawdown_reference_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="drawdown_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.reference}"


class Instalment(models.Model):
    """One line of a facility's repayment schedule (one `schedule_version`; earlier versions are kept)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="instalments")
    schedule_version = models.PositiveIntegerField()
    number = models.PositiveSmallIntegerField(_("number"))
    period_start = models.DateField(_("period start"))
    due_date = models.DateField(_("due date"))
    days = models.PositiveSmallIntegerField(_("days"))
    opening_balance = amount_field(_("opening balance"))
    principal = amount_field(_("principal"))
    interest = amount_field(_("interest"))
    fees = amount_field(_("fees"))
    closing_balance = amount_field(_("closing balance"))
    principal_paid = amount_field(_("principal paid"))
    interest_paid = amount_field(_("interest paid"))
    fees_paid = amount_field(_("fees paid"))
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        ordering = ["facility", "schedule_version", "number"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        indexes = [models.Index(fields=["facility", "schedule_version", "due_date"], name="instalment_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "schedule_version", "number"], name="instalment_once_per_version"
            ),
            models.CheckConstraint(
                condition=models.Q(principal_paid__lte=models.F("principal"))
                & models.Q(interest_paid__lte=models.F("interest"))
                & models.Q(fees_paid__lte=models.F("fees")),
                name="instalment_not_overpaid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id} v{self.schedule_version} #{self.number}"


class RepaymentSource(models.TextChoices):
    MANUAL = "manual", _("Posted by hand")
    IMPORT = "import", _("Core-banking file")


class Repayment(models.Model):
    """Money received on a facility, allocated to fees, interest and principal in the facility's order;
    what is left after the arrears and the current instalment prepays principal when asked."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="repayments")
    reference = models.CharField(_("reference"), max_length=60)
    value_date = models.DateField(_("value date"))
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    source = models.CharField(_("source"), max_length=10, choices=RepaymentSource.choices)
    is_prepayment = models.BooleanField(_("early repayment"), default=False)
    to_fees = amount_field(_("to fees"))
    to_interest = amount_field(_("to interest"))
    to_principal = amount_field(_("to principal"))
    prepaid_principal = amount_field(_("prepaid principal"))
    unapplied = amount_field(_("unapplied"))
    posted_at = models.DateTimeField(_("posted at"))
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-value_date", "-id"]
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        constraints = [
            models.UniqueConstraint(fields=["facility", "reference"], name="repayment_reference_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="repayment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.reference}"
