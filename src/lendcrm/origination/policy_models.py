"""The credit policy the administrators keep (changed in the admin through `services.policy`, audited):
the master scale, the approval ladder, the versioned authority matrix and its limits, delegations,
and the document checklist per product (turnaround targets, per status, live with the applications)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.pipeline.models import Product, amount_field


class DocumentRequirement(models.Model):
    """A document the checklist asks for when an application requests a product (any product when empty)."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("document requirement")
        verbose_name_plural = _("document requirements")
        constraints = [models.UniqueConstraint(fields=["code", "product"], name="document_requirement_once")]

    def __str__(self) -> str:
        return self.code


class RiskGrade(models.Model):
    """One grade of the master scale with its PD band; `pd` is the calibrated PD used for expected loss."""

    grade = models.PositiveSmallIntegerField(_("grade"), unique=True)
    label = models.CharField(_("label"), max_length=100)
    local_label = models.CharField(_("local label"), max_length=100, blank=True)
    pd_low = models.DecimalField(_("PD from"), max_digits=7, decimal_places=6)
    pd_high = models.DecimalField(_("PD to"), max_digits=7, decimal_places=6)
    pd = models.DecimalField(_("PD"), max_digits=7, decimal_places=6)

    class Meta:
        ordering = ["grade"]
        verbose_name = _("risk grade")
        verbose_name_plural = _("master scale")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    pd_low__gte=0, pd_low__lte=models.F("pd"), pd__lte=models.F("pd_high"), pd_high__lte=1
                ),
                name="risk_grade_pd_band",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grade} {self.label}"


class AuthorityLevel(models.Model):
    """A rung of the approval ladder (RM, branch credit officer, …, credit committee); `rank` orders them."""

    slug = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    local_name = models.CharField(_("local name"), max_length=100, blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    is_committee = models.BooleanField(_("committee"), default=False)
    quorum = models.PositiveSmallIntegerField(_("quorum"), default=1)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("authority level")
        verbose_name_plural = _("authority levels")
        constraints = [
            models.CheckConstraint(condition=models.Q(quorum__gte=1), name="authority_level_quorum_positive")
        ]

    def __str__(self) -> str:
        return self.name


class MatrixStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class AuthorityMatrix(models.Model):
    """One version of the delegated authority matrix; exactly one is active at a time."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MatrixStatus.choices, default=MatrixStatus.DRAFT
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("authority matrix")
        verbose_name_plural = _("authority matrices")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status=MatrixStatus.ACTIVE),
                name="authority_matrix_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"v{self.number} ({self.status})"


class AuthorityLimit(models.Model):
    """What one level may decide under one matrix version; `max_group_exposure` null means unlimited."""

    matrix = models.ForeignKey(AuthorityMatrix, on_delete=models.CASCADE, related_name="limits")
    level = models.ForeignKey(
        AuthorityLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("level")
    )
    max_group_exposure = amount_field(_("maximum group exposure"), null=True)
    worst_grade = models.PositiveSmallIntegerField(_("worst risk grade"))
    # Products this level may decide; empty means every product.
    products = models.ManyToManyField(Product, blank=True, related_name="+", verbose_name=_("products"))

    class Meta:
        ordering = ["matrix", "level__rank"]
        verbose_name = _("authority limit")
        verbose_name_plural = _("authority limits")
        constraints = [
            models.UniqueConstraint(fields=["matrix", "level"], name="authority_limit_once"),
            models.CheckConstraint(
                condition=models.Q(max_group_exposure__isnull=True) | models.Q(max_group_exposure__gt=0),
                name="authority_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.matrix_id}: {self.level_id}"


class Delegation(models.Model):
    """A person's authority at one level, from a date until its expiry (or revocation)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations", verbose_name=_("user")
    )
    level = models.ForeignKey(
        AuthorityLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("level")
    )
    valid_from = models.DateField(_("valid from"))
    expires_on = models.DateField(_("expires on"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "level__rank"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("valid_from")), name="delegation_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.level_id} until {self.expires_on}"
