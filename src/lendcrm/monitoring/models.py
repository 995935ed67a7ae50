"""Post-loan monitoring (贷后管理): covenants and their tests, project cash flows; reviews, visits,
early-warning signals and the watchlist are in oversight_models."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lendcrm.core.models import VersionedModel
from lendcrm.monitoring.oversight_models import (
    Review,
    ReviewKind,
    ReviewPolicy,
    ReviewStatus,
    Severity,
    Signal,
    SignalRule,
    SignalStatus,
    WatchlistEntry,
    WatchSource,
    WatchStatus,
)
from lendcrm.origination.models import FinancialStatement
from lendcrm.parties.models import Party
from lendcrm.pipeline.models import amount_field, rate_field
from lendcrm.servicing.models import Facility

# Oversight tables live in oversight_models; every monitoring model is importable from here.
__all__ = [
    "Review",
    "ReviewKind",
    "ReviewPolicy",
    "ReviewStatus",
    "Severity",
    "Signal",
    "SignalRule",
    "SignalStatus",
    "WatchSource",
    "WatchStatus",
    "WatchlistEntry",
]


def ratio_field(verbose_name: object, *, null: bool = True) -> models.DecimalField:
    """A ratio or threshold such as 1.25 (times) or 3.5 (times EBITDA), or an amount (capex, net worth
    covenants): as many whole digits as a money amount, four places."""
    return models.DecimalField(verbose_name, max_digits=22, decimal_places=4, null=null, blank=null)  # type: ignore[arg-type]


class CovenantKind(models.TextChoices):
    FINANCIAL = "financial", _("Financial")
    REPORTING = "reporting", _("Reporting")
    UNDERTAKING = "undertaking", _("Undertaking")


class CovenantMetric(models.TextChoices):
    """What a financial covenant measures; each has one formula in `monitoring.covenant_metrics`."""

    DSCR = "dscr", _("Debt service cover (DSCR)")
    LEVERAGE = "leverage", _("Leverage (debt / EBITDA)")
    INTEREST_COVER = "interest_cover", _("Interest cover (EBIT / interest)")
    CURRENT_RATIO = "current_ratio", _("Current ratio")
    GEARING = "gearing", _("Gearing (debt / equity)")
    CAPEX = "capex", _("Capital expenditure")
    NET_WORTH = "net_worth", _("Net worth")
    PROJECT_DSCR = "project_dscr", _("Project DSCR")
    PROJECT_LLCR = "project_llcr", _("Project LLCR")


class Bound(models.TextChoices):
    MINIMUM = "min", _("At least")
    MAXIMUM = "max", _("At most")


class ReportingDocument(models.TextChoices):
    AUDITED_STATEMENTS = "audited_statements", _("Audited annual statements")
    MANAGEMENT_ACCOUNTS = "management_accounts", _("Management accounts")
    INSURANCE_CERTIFICATE = "insurance_certificate", _("Insurance certificate")
    ENVIRONMENTAL_PERMIT = "environmental_permit", _("Environmental permit")
    COMPLIANCE_CERTIFICATE = "compliance_certificate", _("Compliance certificate")


class Covenant(VersionedModel):
    """A promise attached to a facility, tested on its schedule: a financial threshold, a report due
    within a number of days of the period end, or an undertaking the monitoring officer attests."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="covenants")
    kind = models.CharField(_("kind"), max_length=20, choices=CovenantKind.choices)
    name = models.CharField(_("name"), max_length=200)
    metric = models.CharField(_("metric"), max_length=20, choices=CovenantMetric.choices, blank=True)
    bound = models.CharField(_("bound"), max_length=3, choices=Bound.choices, blank=True)
    threshold = ratio_field(_("threshold"))
    document = models.CharField(_("document"), max_length=30, choices=ReportingDocument.choices, blank=True)
    # Test dates: every `frequency_months` from `first_test_date`; reports are due `due_days` after it.
    frequency_months = models.PositiveSmallIntegerField(_("tested every (months)"), default=12)
    first_test_date = models.DateField(_("first test date"))
    due_days = models.PositiveSmallIntegerField(_("days allowed after the period end"), default=0)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["facility", "id"]
        verbose_name = _("covenant")
        verbose_name_plural = _("covenants")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="financial")
                | (~models.Q(metric="") & ~models.Q(bound="") & models.Q(threshold__isnull=False)),
                name="covenant_financial_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reporting") | ~models.Q(document=""),
                name="covenant_reporting_document",
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_months__in=[1, 3, 6, 12]), name="covenant_frequency_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.name}"


class TestStatus(models.TextChoices):
    NOT_DUE = "not_due", _("Not yet due")
    PASS = "pass", _("Pass")
    BREACH = "breach", _("Breach")
    WAIVER_REQUESTED = "waiver_requested", _("Waiver requested")
    WAIVED = "waived", _("Waived")


class CovenantTest(models.Model):
    """One test of a covenant for one period; re-running the test on the same data changes nothing."""

    covenant = models.ForeignKey(Covenant, on_delete=models.CASCADE, related_name="tests")
    period_end = models.DateField(_("period end"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("result"), max_length=20, choices=TestStatus.choices, default=TestStatus.NOT_DUE
    )
    value = ratio_field(pgettext_lazy("measured", "value"))
    threshold = ratio_field(_("threshold"))
    statement = models.ForeignKey(
        FinancialStatement, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    tested_at = models.DateTimeField(_("tested at"), null=True, blank=True)
    # A breach opens a task for the monitoring officer (interactions.Task).
    action = models.ForeignKey(
        "interactions.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    waiver_reason = models.TextField(_("waiver reason"), blank=True)
    waiver_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waived_at = models.DateTimeField(_("waived at"), null=True, blank=True)
    waiver_note = models.TextField(_("waiver decision note"), blank=True)
    # Reporting documents other than statements, and undertakings: what the monitoring officer recorded.
    complied = models.BooleanField(_("complied"), null=True, blank=True)
    attested_on = models.DateField(_("received or attested on"), null=True, blank=True)
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["covenant", "-period_end"]
        verbose_name = _("covenant test")
        verbose_name_plural = _("covenant tests")
        indexes = [models.Index(fields=["status", "due_date"], name="covenant_test_status_due")]
        constraints = [
            models.UniqueConstraint(fields=["covenant", "period_end"], name="covenant_test_once_per_period"),
            models.CheckConstraint(
                condition=~models.Q(waived_by=models.F("waiver_requested_by")),
                name="covenant_waiver_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.covenant_id} {self.period_end}: {self.status}"


class Project(VersionedModel):
    """A financed project: the project company, the facility that funds it and the thresholds its
    ratios are tested against (term-sheet settings)."""

    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="projects", verbose_name=_("project company")
    )
    facility = models.ForeignKey(
        Facility,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name=_("facility"),
    )
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3)
    # NPV discount rate for LLCR/PLCR, percent per year; by default the debt's interest rate.
    discount_rate_pct = rate_field(_("discount rate %"), null=False)
    lockup_dscr = ratio_field(_("distribution lock-up DSCR"), null=False)
    default_dscr = ratio_field(_("event-of-default DSCR"), null=False)
    dsra_balance = amount_field(_("DSRA balance"))
    llcr_includes_dsra = models.BooleanField(_("LLCR counts the DSRA"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lockup_dscr__gte=models.F("default_dscr")),
                name="project_lockup_above_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProjectCashFlow(models.Model):
    """One period of the project's projection (or actuals): CFADS and the debt service due in it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cash_flows")
    period_end = models.DateField(_("period end"))
    revenue = amount_field(_("revenue"))
    operating_costs = amount_field(_("operating costs"))
    tax = amount_field(_("tax"))
    maintenance_capex = amount_field(_("maintenance capex"))
    working_capital_change = amount_field(_("change in working capital"))
    reserve_movement = amount_field(_("reserve movements"))
    cfads = amount_field(_("CFADS"))
    principal = amount_field(_("principal due"))
    interest = amount_field(_("interest due"))
    is_actual = models.BooleanField(_("actual"), default=False)

    class Meta:
        ordering = ["project", "period_end"]
        verbose_name = _("project cash flow")
        verbose_name_plural = _("project cash flows")
        constraints = [
            models.UniqueConstraint(fields=["project", "period_end"], name="project_cash_flow_once")
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.period_end}"
