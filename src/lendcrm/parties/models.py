"""The customer master: parties, identifiers, coverage, contacts and relationships."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, VersionedModel
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.core.personal import personal


class PartyKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    SOLE_TRADER = "sole_trader", _("Sole trader")
    SME = "sme", _("SME")
    CORPORATE = "corporate", _("Corporate")
    PROJECT_COMPANY = "project_company", _("Project company (SPV)")
    INSTITUTIONAL_INVESTOR = "institutional_investor", _("Institutional investor")
    FINANCIAL_INSTITUTION = "financial_institution", _("Financial institution")
    PUBLIC_ENTITY = "public_entity", _("Public entity")


NATURAL_PERSON_KINDS = frozenset({PartyKind.INDIVIDUAL, PartyKind.SOLE_TRADER})


class Segment(models.TextChoices):
    RETAIL = "retail", _("Retail")
    SMALL_BUSINESS = "small_business", _("Small business")
    SME = "sme", _("SME")
    MID_CORPORATE = "mid_corporate", _("Mid corporate")
    LARGE_CORPORATE = "large_corporate", _("Large corporate")
    PROJECT_FINANCE = "project_finance", _("Project finance")
    INSTITUTIONAL = "institutional", _("Institutional")
    PUBLIC_SECTOR = "public_sector", _("Public sector")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    FORMER = "former", _("Former")


class KycStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    PENDING = "pending", _("Pending")
    VERIFIED = "verified", _("Verified")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")


def money_amount(verbose_name: "StrOrPromise") -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, null=True, blank=True
    )


def currency_field() -> models.CharField:
    return models.CharField(_("currency"), max_length=3, blank=True)


class Party(VersionedModel):
    """A customer or prospect of any kind, booked at one branch."""

    kind = models.CharField(_("kind"), max_length=30, choices=PartyKind.choices)
    legal_name = personal(
        models.CharField(_("legal name"), max_length=300),
        category="identity",
        purpose="kyc",
        retention="aml",
        natural_persons_only=True,
    )
    local_name = personal(
        models.CharField(_("local-language name"), max_length=300, blank=True),
        category="identity",
        purpose="kyc",
        retention="aml",
        natural_persons_only=True,
    )
    short_name = personal(
        models.CharField(_("short name"), max_length=100, blank=True),
        category="identity",
        purpose="relationship",
        retention="aml",
        natural_persons_only=True,
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    industry_code = models.CharField(_("industry (ISIC/NACE)"), max_length=10, blank=True)
    annual_revenue = money_amount(_("annual revenue"))
    annual_revenue_currency = currency_field()
    total_assets = money_amount(_("total assets"))
    total_assets_currency = currency_field()
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    incorporation_date = models.DateField(_("incorporation date"), null=True, blank=True)
    birth_date = personal(
        models.DateField(_("birth date"), null=True, blank=True),
        category="demographic",
        purpose="kyc",
        retention="aml",
    )
    segment = models.CharField(_("segment"), max_length=30, choices=Segment.choices, blank=True)
    lifecycle = models.CharField(
        _("lifecycle status"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    kyc_status = models.CharField(
        _("KYC status"), max_length=20, choices=KycStatus.choices, default=KycStatus.NOT_STARTED
    )
    kyc_next_review = models.DateField(_("next KYC review"), null=True, blank=True)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="parties", verbose_name=_("branch")
    )
    # Lower-cased names, identifiers and contact emails, kept by the services for one-column search.
    search_text = models.TextField(default="", editable=False)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        indexes = [
            models.Index(fields=["branch", "legal_name"], name="party_branch_name"),
            models.Index(fields=["legal_name"], name="party_name"),
            models.Index(fields=["kyc_next_review"], name="party_kyc_review"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(annual_revenue__isnull=False, annual_revenue_currency=""),
                name="party_revenue_has_currency",
            ),
            models.CheckConstraint(
                condition=~models.Q(total_assets__isnull=False, total_assets_currency=""),
                name="party_assets_has_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def is_natural_person(self) -> bool:
        return self.kind in NATURAL_PERSON_KINDS


class PartySearchGram(models.Model):
    """A pair of adjacent CJK characters in a party's search text, so a two-character Chinese term (which a
    trigram index cannot answer) finds its parties through an index; kept by the party services."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="search_grams", db_index=False)
    gram = models.CharField(max_length=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "gram"], name="search_gram_once")]
        indexes = [models.Index(fields=["gram", "party"], name="search_gram_lookup")]

    def __str__(self) -> str:
        return f"{self.gram} in {self.party_id}"


class Identifier(models.Model):
    """A registry identifier of a party; one holder per scheme and value."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="identifiers")
    scheme = models.CharField(_("scheme"), max_length=30)
    value = personal(
        models.CharField(_("value"), max_length=64),
        category="government_id",
        purpose="kyc",
        retention="aml",
        natural_persons_only=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scheme", "value"], name="identifier_unique_per_scheme")
        ]
        ordering = ["scheme", "value"]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


class CoverageRole(models.TextChoices):
    LEAD = "lead", _("Lead relationship manager")
    TEAM = "team", _("Team member")


class Coverage(models.Model):
    """Who covers a party: one lead RM plus team members."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="coverage")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coverage")
    role = models.CharField(max_length=10, choices=CoverageRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["party", "user"], name="coverage_once_per_user"),
            models.UniqueConstraint(
                fields=["party"], condition=models.Q(role="lead"), name="coverage_one_lead"
            ),
        ]
        indexes = [models.Index(fields=["user", "party"], name="coverage_user_party")]

    def __str__(self) -> str:
        return f"{self.user_id} covers {self.party_id} ({self.role})"


class Contact(VersionedModel):
    """A natural person known to the bank through one or more parties."""

    full_name = personal(
        models.CharField(_("full name"), max_length=200),
        category="identity",
        purpose="relationship",
        retention="aml",
    )
    local_name = personal(
        models.CharField(_("local-language name"), max_length=200, blank=True),
        category="identity",
        purpose="relationship",
        retention="aml",
    )
    title = personal(
        models.CharField(_("job title"), max_length=100, blank=True),
        category="identity",
        purpose="relationship",
        retention="relationship",
    )
    birth_date = personal(
        models.DateField(_("birth date"), null=True, blank=True),
        category="demographic",
        purpose="kyc",
        retention="aml",
    )
    nationality = personal(
        models.CharField(_("nationality"), max_length=2, blank=True),
        category="demographic",
        purpose="kyc",
        retention="aml",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.full_name


class ContactRoleKind(models.TextChoices):
    DIRECTOR = "director", _("Director")
    CFO = "cfo", _("CFO")
    TREASURER = "treasurer", _("Treasurer")
    AUTHORISED_SIGNATORY = "authorised_signatory", _("Authorised signatory")
    UBO = "ubo", _("Ultimate beneficial owner")
    GUARANTOR = "guarantor", _("Guarantor")
    SPONSOR_REPRESENTATIVE = "sponsor_representative", _("Sponsor representative")
    PRIMARY_CONTACT = "primary_contact", _("Primary contact")


class ContactRole(models.Model):
    """A contact's role at a party; a UBO carries an ownership percentage."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="roles")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="contact_roles")
    role = models.CharField(_("role"), max_length=30, choices=ContactRoleKind.choices)
    ownership_pct = models.DecimalField(
        _("ownership %"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "party", "role"], name="contact_role_once"),
            models.CheckConstraint(
                condition=models.Q(ownership_pct__isnull=True)
                | models.Q(ownership_pct__gte=0, ownership_pct__lte=100),
                name="contact_role_pct_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.role} of {self.party_id}"


class ContactPointKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    ADDRESS = "address", _("Address")


class ContactPoint(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="points")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactPointKind.choices)
    value = personal(
        models.CharField(_("value"), max_length=300),
        category="contact",
        purpose="relationship",
        retention="relationship",
    )
    label = models.CharField(_("label"), max_length=50, blank=True)
    is_preferred = models.BooleanField(_("preferred"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind"],
                condition=models.Q(is_preferred=True),
                name="one_preferred_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.contact_id}"


class RelationshipKind(models.TextChoices):
    PARENT_OF = "parent_of", _("Parent of")
    SHAREHOLDER_OF = "shareholder_of", _("Shareholder of")
    SPONSOR_OF = "sponsor_of", _("Sponsor of")
    GUARANTOR_OF = "guarantor_of", _("Guarantor of")
    SUPPLIER_OF = "supplier_of", _("Supplier of")
    CUSTOMER_OF = "customer_of", _("Customer of")
    MEMBER_OF_GROUP = "member_of_group", _("Member of group")


# Edges that carry an ownership percentage and must stay acyclic.
OWNERSHIP_KINDS = frozenset({RelationshipKind.PARENT_OF, RelationshipKind.SHAREHOLDER_OF})
# Edges that make a group: from the parent (or group head) to the member.
GROUP_KINDS = frozenset({RelationshipKind.PARENT_OF, RelationshipKind.MEMBER_OF_GROUP})
# Edges that connect parties for exposure: control, sponsorship and guarantees.
CONNECTING_KINDS = frozenset(
    {
        RelationshipKind.PARENT_OF,
        RelationshipKind.MEMBER_OF_GROUP,
        RelationshipKind.SPONSOR_OF,
        RelationshipKind.GUARANTOR_OF,
    }
)


class Relationship(VersionedModel):
    """A typed, directed link: `from_party` is parent/shareholder/sponsor/guarantor/supplier/customer
    of `to_party`; for member_of_group, `from_party` is the member and `to_party` the group head."""

    from_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="relationships_out")
    to_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="relationships_in")
    kind = models.CharField(_("kind"), max_length=20, choices=RelationshipKind.choices)
    ownership_pct = models.DecimalField(
        _("ownership %"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_party", "to_party", "kind"], name="relationship_once"),
            models.CheckConstraint(
                condition=~models.Q(from_party=models.F("to_party")), name="relationship_not_self"
            ),
            models.CheckConstraint(
                condition=models.Q(ownership_pct__isnull=True)
                | models.Q(ownership_pct__gt=0, ownership_pct__lte=100),
                name="relationship_pct_range",
            ),
        ]
        indexes = [
            models.Index(fields=["to_party", "kind"], name="relationship_in"),
            models.Index(fields=["from_party", "kind"], name="relationship_out"),
        ]

    def __str__(self) -> str:
        return f"{self.from_party_id} {self.kind} {self.to_party_id}"
