"""From application to offer: the state machine, checklists, the credit memo, the master scale, the
delegated authority matrix, decisions and committee votes, conditions and offers."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, VersionedModel
from lendcrm.origination.policy_models import (
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    Delegation,
    DocumentRequirement,
    MatrixStatus,
    RiskGrade,
)
from lendcrm.parties.models import Party
from lendcrm.pipeline.models import FacilityTerms, Opportunity, Product, Proposal, amount_field

# The policy tables live in policy_models; every origination model is importable from here.
__all__ = [
    "AuthorityLevel",
    "AuthorityLimit",
    "AuthorityMatrix",
    "Delegation",
    "DocumentRequirement",
    "MatrixStatus",
    "RiskGrade",
]


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    CREDIT_ANALYSIS = "credit_analysis", _("Credit analysis")
    PENDING_DECISION = "pending_decision", _("Pending decision")
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    DECLINED = "declined", _("Declined")
    REFERRED_UP = "referred_up", _("Referred up")
    OFFER_ISSUED = "offer_issued", _("Offer issued")
    OFFER_ACCEPTED = "offer_accepted", _("Offer accepted")
    CONDITIONS_MET = "conditions_met", _("Conditions precedent met")
    READY_TO_DISBURSE = "ready_to_disburse", _("Ready to disburse")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class Application(VersionedModel):
    """A request for credit by a borrower, moved through `Status` only by `origination.services`."""

    reference = models.CharField(_("reference"), max_length=30, unique=True)
    borrower = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="applications", verbose_name=_("borrower")
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="applications"
    )
    proposal = models.OneToOneField(
        Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="application"
    )
    purpose = models.TextField(_("purpose"), blank=True)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.DRAFT)
    status_entered_at = models.DateTimeField(_("in status since"))
    # The maker: the RM who prepared it. The analyst writing the memo is a maker too.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("relationship manager"),
    )
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credit analyst"),
    )
    # Set when routed: the lowest authority level able to decide it, and what that was based on.
    required_level = models.ForeignKey(
        "AuthorityLevel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approval level"),
    )
    decision_round = models.PositiveSmallIntegerField(default=1)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(fields=["status", "status_entered_at"], name="application_status_since"),
            models.Index(fields=["owner", "status"], name="application_owner_status"),
            models.Index(fields=["borrower", "status"], name="application_borrower_status"),
        ]

    def __str__(self) -> str:
        return self.reference


class PartyRole(models.TextChoices):
    BORROWER = "borrower", _("Borrower")
    CO_BORROWER = "co_borrower", _("Co-borrower")
    GUARANTOR = "guarantor", _("Guarantor")
    SPONSOR = "sponsor", _("Sponsor")


class ApplicationParty(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="parties")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="application_roles")
    role = models.CharField(_("role"), max_length=20, choices=PartyRole.choices)

    class Meta:
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "party", "role"], name="application_party_role_once"
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(role=PartyRole.BORROWER),
                name="application_one_borrower",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.party_id} {self.role}"


class ApplicationFacility(FacilityTerms):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="facilities")
    # Loss given default as a fraction (0.40 for senior unsecured corporate under F-IRB); EAD is the amount.
    lgd = models.DecimalField(
        _("LGD"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )

    class Meta:
        ordering = ["application", "position", "id"]
        verbose_name = _("requested facility")
        verbose_name_plural = _("requested facilities")
        constraints = [
            *FacilityTerms.term_constraints("application_facility"),
            models.CheckConstraint(
                condition=models.Q(lgd__gte=0, lgd__lte=1), name="application_facility_lgd_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.position}"


class StatusChange(models.Model):
    """One transition; turnaround per stage is read from these."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=30, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=Status.choices)
    changed_at = models.DateTimeField()
    # Empty for a system job (the daily offer expiry), as the audit trail records it.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["application", "changed_at"], name="status_change_app_at")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status} -> {self.to_status}"


class StageTarget(models.Model):
    """The turnaround target (SLA) for time spent in one status, per product or as the default."""

    status = models.CharField(_("status"), max_length=30, choices=Status.choices)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    target_hours = models.PositiveIntegerField(_("target (hours)"))

    class Meta:
        verbose_name = _("turnaround target")
        verbose_name_plural = _("turnaround targets")
        constraints = [
            models.UniqueConstraint(fields=["status", "product"], name="stage_target_once"),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(product__isnull=True), name="stage_target_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.product_id or '*'}: {self.target_hours} h"


class ChecklistStatus(models.TextChoices):
    REQUIRED = "required", _("Required")
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Verified")
    WAIVED = "waived", _("Waived")


class ChecklistItem(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="checklist")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("document"), max_length=200)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ChecklistStatus.choices, default=ChecklistStatus.REQUIRED
    )
    waiver_reason = models.CharField(_("waiver reason"), max_length=500, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["application", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "code"], name="checklist_item_once"),
            models.CheckConstraint(
                condition=~models.Q(status=ChecklistStatus.WAIVED) | ~models.Q(waiver_reason=""),
                name="checklist_waiver_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.code} {self.status}"


class StatementKind(models.TextChoices):
    AUDITED = "audited", _("Audited")
    MANAGEMENT = "management", _("Management accounts")
    PROJECTED = "projected", _("Projection")


class FinancialStatement(VersionedModel):
    """A party's statements for one period on the standard chart of lines (`origination.ratios.LINES`)."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="financial_statements")
    period_end = models.DateField(_("period end"))
    period_months = models.PositiveSmallIntegerField(_("months in period"), default=12)
    kind = models.CharField(
        _("kind"), max_length=20, choices=StatementKind.choices, default=StatementKind.AUDITED
    )
    currency = models.CharField(_("currency"), max_length=3)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["party", "-period_end"]
        verbose_name = _("financial statement")
        verbose_name_plural = _("financial statements")
        constraints = [
            models.UniqueConstraint(fields=["party", "period_end", "kind"], name="statement_period_once"),
            models.CheckConstraint(
                condition=models.Q(period_months__gte=1, period_months__lte=12), name="statement_months_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id} {self.period_end} {self.kind}"


class FinancialLine(models.Model):
    statement = models.ForeignKey(FinancialStatement, on_delete=models.CASCADE, related_name="lines")
    code = models.CharField(max_length=40)
    amount = amount_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["statement", "code"], name="statement_line_once")]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.code}"


class CreditMemo(VersionedModel):
    """The analyst's memo for an application; every save makes a `MemoRevision` decisions can cite."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="memo")
    analyst = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    risk_grade = models.ForeignKey(
        RiskGrade,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk grade"),
    )
    grade_rationale = models.TextField(_("rating rationale"), blank=True)
    business = models.TextField(_("business and management"), blank=True)
    industry = models.TextField(_("industry and market"), blank=True)
    financial_analysis = models.TextField(_("financial analysis"), blank=True)
    security_analysis = models.TextField(_("security and structure"), blank=True)
    risks = models.TextField(_("key risks and mitigants"), blank=True)
    recommendation = models.TextField(_("recommendation"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit memo")
        verbose_name_plural = _("credit memos")

    def __str__(self) -> str:
        return f"memo {self.application_id} v{self.version}"


class MemoRevision(models.Model):
    """What the memo said at one version, kept so a decision's basis can always be read back."""

    memo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    content = models.JSONField()
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["memo", "version"]
        constraints = [models.UniqueConstraint(fields=["memo", "version"], name="memo_revision_once")]

    def __str__(self) -> str:
        return f"{self.memo_id} v{self.version}"


class Outcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    DECLINED = "declined", _("Declined")
    REFERRED_UP = "referred_up", _("Referred up")


class Decision(models.Model):
    """A credit decision and everything it rested on; one per application and round."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="decisions")
    round = models.PositiveSmallIntegerField()
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"))
    level = models.ForeignKey(
        AuthorityLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("level")
    )
    matrix = models.ForeignKey(AuthorityMatrix, on_delete=models.PROTECT, related_name="+")
    memo_version = models.PositiveIntegerField(_("memo version"))
    risk_grade = models.PositiveSmallIntegerField(_("risk grade"))
    group_exposure = amount_field(_("group exposure"))
    exposure_currency = models.CharField(max_length=3)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["application", "round"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.UniqueConstraint(fields=["application", "round"], name="decision_once_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} r{self.round}: {self.outcome}"


class Vote(models.TextChoices):
    APPROVE = "approve", _("Approve")
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", _("Approve with conditions")
    DECLINE = "decline", _("Decline")
    ABSTAIN = "abstain", _("Abstain")


class CommitteeVote(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="votes")
    round = models.PositiveSmallIntegerField()
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    vote = models.CharField(_("vote"), max_length=30, choices=Vote.choices)
    comment = models.TextField(_("comment or dissent"), blank=True)
    cast_at = models.DateTimeField()

    class Meta:
        ordering = ["application", "round", "cast_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "round", "member"], name="committee_vote_once")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} r{self.round}: {self.member_id} {self.vote}"


class ConditionKind(models.TextChoices):
    PRECEDENT = "precedent", _("Condition precedent")
    SUBSEQUENT = "subsequent", _("Condition subsequent")


class ConditionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")
    WAIVED = "waived", _("Waived")


class Condition(models.Model):
    """A condition of approval, tracked until met or waived."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="conditions")
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField(
        _("kind"), max_length=20, choices=ConditionKind.choices, default=ConditionKind.PRECEDENT
    )
    text = models.TextField(_("condition"))
    status = models.CharField(
        _("status"), max_length=10, choices=ConditionStatus.choices, default=ConditionStatus.OPEN
    )
    note = models.CharField(_("evidence or reason"), max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.kind} {self.status}"


class OfferStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    ACCEPTED = "accepted", _("Accepted")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Offer(VersionedModel):
    """The offer letter made from the approved terms; `terms` is the snapshot the customer accepts."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="offers")
    reference = models.CharField(_("reference"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.ISSUED
    )
    terms = models.JSONField()
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expires_on = models.DateField(_("expires on"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(status__in=["issued", "accepted"]),
                name="offer_one_live",
            )
        ]

    def __str__(self) -> str:
        return self.reference
