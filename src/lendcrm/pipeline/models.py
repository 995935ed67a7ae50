"""Conversion: the product catalogue, leads, opportunities and proposals (term sheets)."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, VersionedModel
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.core.personal import personal
from lendcrm.parties.models import Party, PartyKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def amount_field(verbose_name: "StrOrPromise | None" = None, *, null: bool = False) -> models.DecimalField:
    return models.DecimalField(
        verbose_name or _("amount"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=null,
        blank=null,
    )


def rate_field(verbose_name: "StrOrPromise", *, null: bool = True) -> models.DecimalField:
    """A rate in percent per year (4.35 means 4.35 %)."""
    return models.DecimalField(verbose_name, max_digits=9, decimal_places=5, null=null, blank=null)


class ProductFamily(models.TextChoices):
    LENDING = "lending", _("Lending")
    NON_LENDING = "non_lending", _("Non-lending")


class Product(models.Model):
    """One line of the product catalogue; lending products can be requested and proposed."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    family = models.CharField(_("family"), max_length=20, choices=ProductFamily.choices)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class LeadSource(models.TextChoices):
    RM = "rm", _("Relationship manager")
    REFERRAL = "referral", _("Referral")
    PARTNER = "partner", _("Partner platform")
    WEB_FORM = "web_form", _("Web form")
    CAMPAIGN = "campaign", _("Campaign")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")


class DisqualificationReason(models.TextChoices):
    NO_NEED = "no_need", _("No financing need")
    OUT_OF_APPETITE = "out_of_appetite", _("Outside risk appetite")
    UNREACHABLE = "unreachable", _("Could not be reached")
    TOO_SMALL = "too_small", _("Too small")
    COMPETITOR = "competitor", _("Chose a competitor")
    DUPLICATE = "duplicate", _("Duplicate of another lead")
    OTHER = "other", _("Other")


class Lead(VersionedModel):
    """A prospect from any source; qualification makes a party (or links an existing one) and an
    opportunity, or records why it was disqualified."""

    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices)
    source_detail = models.CharField(_("source detail"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    party_kind = models.CharField(_("kind"), max_length=30, choices=PartyKind.choices, default=PartyKind.SME)
    name = personal(
        models.CharField(_("prospect name"), max_length=300),
        category="identity",
        purpose="relationship",
        retention="relationship",
        natural_persons_only=True,
    )
    local_name = personal(
        models.CharField(_("local-language name"), max_length=300, blank=True),
        category="identity",
        purpose="relationship",
        retention="relationship",
        natural_persons_only=True,
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    industry_code = models.CharField(_("industry (ISIC/NACE)"), max_length=10, blank=True)
    lei = models.CharField(_("LEI"), max_length=20, blank=True)
    uscc = models.CharField(_("USCC"), max_length=18, blank=True)
    contact_name = personal(
        models.CharField(_("contact name"), max_length=200, blank=True),
        category="identity",
        purpose="relationship",
        retention="relationship",
    )
    contact_email = personal(
        models.EmailField(_("contact email"), blank=True),
        category="contact",
        purpose="relationship",
        retention="relationship",
    )
    contact_phone = personal(
        models.CharField(_("contact phone"), max_length=40, blank=True),
        category="contact",
        purpose="relationship",
        retention="relationship",
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    requested_amount = amount_field(_("requested amount"), null=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    notes = personal(
        models.TextField(_("notes"), blank=True),
        category="free_text",
        purpose="relationship",
        retention="relationship",
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    # The existing party this lead was matched to (duplicate detection) or the prospect made on qualification.
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="leads", verbose_name=_("party")
    )
    matched_by = models.CharField(_("matched by"), max_length=20, blank=True)  # lei, uscc, name or ""
    disqualification_reason = models.CharField(
        _("disqualification reason"), max_length=20, choices=DisqualificationReason.choices, blank=True
    )
    disqualification_note = models.CharField(_("disqualification note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["branch", "status"], name="lead_branch_status")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.DISQUALIFIED) | ~models.Q(disqualification_reason=""),
                name="lead_disqualified_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.QUALIFIED) | models.Q(party__isnull=False),
                name="lead_qualified_has_party",
            ),
        ]

    def __str__(self) -> str:
        return f"lead {self.pk}"


class Stage(models.TextChoices):
    QUALIFY = "qualify", _("Qualify")
    NEEDS_ANALYSIS = "needs_analysis", _("Needs analysis")
    PROPOSAL = "proposal", _("Proposal")
    APPLICATION = "application", _("Application")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = (Stage.QUALIFY, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.APPLICATION)
CLOSED_STAGES = (Stage.WON, Stage.LOST)


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    TERMS = "terms", _("Terms or structure")
    COMPETITOR = "competitor", _("Went to a competitor")
    DECLINED = "declined", _("Declined by credit")
    NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
    TIMING = "timing", _("Timing")
    OTHER = "other", _("Other")


class Opportunity(VersionedModel):
    """A financing or cross-sell need of one party, moving through the sales stages."""

    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("party")
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("lead"),
    )
    title = models.CharField(_("title"), max_length=200)
    products = models.ManyToManyField(Product, related_name="+", verbose_name=_("products"))
    amount = amount_field(_("amount"), null=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.QUALIFY)
    stage_entered_at = models.DateTimeField(_("in stage since"))
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability %"), default=10, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    lost_reason = models.CharField(_("lost reason"), max_length=20, choices=LostReason.choices, blank=True)
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage"),
            models.Index(fields=["party", "stage"], name="opportunity_party_stage"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=100),
                name="opportunity_probability_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage=Stage.LOST) | ~models.Q(lost_reason=""),
                name="opportunity_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gt=0),
                name="opportunity_amount_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class StageChange(models.Model):
    """One move of an opportunity between stages; time in stage and the funnel are read from these."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["opportunity", "changed_at"], name="stage_change_opp_at")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage} -> {self.to_stage}"


class RepaymentProfile(models.TextChoices):
    ANNUITY = "annuity", _("Annuity")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    BULLET = "bullet", _("Bullet")
    BALLOON = "balloon", _("Balloon")
    CUSTOM = "custom", _("Custom")


class RateType(models.TextChoices):
    FLOATING = "floating", _("Base rate + margin")
    FIXED = "fixed", _("Fixed")


class BaseRate(models.TextChoices):
    LPR_1Y = "lpr_1y", _("LPR 1 year")
    LPR_5Y = "lpr_5y", _("LPR 5 years")
    SHIBOR_3M = "shibor_3m", _("SHIBOR 3 months")
    SOFR = "sofr", _("SOFR")
    EURIBOR_3M = "euribor_3m", _("EURIBOR 3 months")
    HIBOR_3M = "hibor_3m", _("HIBOR 3 months")


class FacilityTerms(models.Model):
    """One facility's terms, shared by proposals and applications: a conversion copies, never re-types."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    tenor_months = models.PositiveSmallIntegerField(_("tenor (months)"))
    repayment_profile = models.CharField(
        _("repayment profile"), max_length=20, choices=RepaymentProfile.choices
    )
    balloon_amount = amount_field(_("balloon"), null=True)
    grace_months = models.PositiveSmallIntegerField(_("grace period (months)"), default=0)
    rate_type = models.CharField(_("rate type"), max_length=10, choices=RateType.choices)
    base_rate = models.CharField(_("base rate"), max_length=20, choices=BaseRate.choices, blank=True)
    margin_pct = rate_field(_("margin %"))
    fixed_rate_pct = rate_field(_("fixed rate %"))
    upfront_fee_pct = rate_field(_("upfront fee %"))
    commitment_fee_pct = rate_field(_("commitment fee %"))
    security = models.TextField(_("security and collateral"), blank=True)
    covenants = models.TextField(_("key covenants"), blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True

    @staticmethod
    def term_constraints(prefix: str) -> list[models.BaseConstraint]:
        """The invariants of any facility's terms, named per concrete table."""
        return [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name=f"{prefix}_amount_positive"),
            models.CheckConstraint(condition=models.Q(tenor_months__gt=0), name=f"{prefix}_tenor_positive"),
            models.CheckConstraint(
                condition=models.Q(grace_months__lt=models.F("tenor_months")),
                name=f"{prefix}_grace_within_tenor",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(rate_type=RateType.FIXED, fixed_rate_pct__isnull=False)
                    | models.Q(rate_type=RateType.FLOATING, margin_pct__isnull=False)
                    & ~models.Q(base_rate="")
                ),
                name=f"{prefix}_rate_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(repayment_profile=RepaymentProfile.BALLOON)
                | models.Q(balloon_amount__gt=0, balloon_amount__lt=models.F("amount")),
                name=f"{prefix}_balloon_within_amount",
            ),
        ]


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued to customer")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Superseded")


class Proposal(VersionedModel):
    """One version of the financing scheme offered for an opportunity; rendered as the term sheet."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="proposals", verbose_name=_("opportunity")
    )
    number = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    summary = models.TextField(_("summary"), blank=True)
    guarantors = models.ManyToManyField(Party, related_name="+", blank=True, verbose_name=_("guarantors"))
    conditions = models.TextField(_("conditions precedent"), blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted or rejected at"), null=True, blank=True)

    class Meta:
        ordering = ["opportunity", "-number"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "number"], name="proposal_number_once"),
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=models.Q(status=ProposalStatus.ACCEPTED),
                name="proposal_one_accepted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id} v{self.number}"


class ProposalFacility(FacilityTerms):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="facilities")

    class Meta:
        ordering = ["proposal", "position", "id"]
        verbose_name = _("proposed facility")
        verbose_name_plural = _("proposed facilities")
        constraints = FacilityTerms.term_constraints("proposal_facility")

    def __str__(self) -> str:
        return f"{self.proposal_id}/{self.position}"
