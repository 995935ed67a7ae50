"""Organisation, staff, API tokens, the audit chain and idempotency records."""

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from lendcrm.core.personal import personal
from lendcrm.core.roles import Role


class VersionedModel(models.Model):
    """Base for business tables: timestamps and a version for optimistic concurrency (ETag)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class Branch(VersionedModel):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    local_name = models.CharField(_("local name"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    is_head_office = models.BooleanField(_("head office"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        constraints = [
            models.UniqueConstraint(
                fields=["is_head_office"], condition=models.Q(is_head_office=True), name="one_head_office"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """A member of staff; what they may see follows from their roles and branch."""

    first_name = personal(
        models.CharField(_("first name"), max_length=150, blank=True),
        category="identity",
        purpose="contract",
        retention="relationship",
    )
    last_name = personal(
        models.CharField(_("last name"), max_length=150, blank=True),
        category="identity",
        purpose="contract",
        retention="relationship",
    )
    email = personal(
        models.EmailField(_("email address"), blank=True),
        category="contact",
        purpose="contract",
        retention="relationship",
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="staff")
    version = models.PositiveIntegerField(default=1)
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def role_slugs(self) -> frozenset[str]:
        """The user's roles, read once per object."""
        cached: frozenset[str] | None = self.__dict__.get("_role_slugs")
        if cached is None:
            cached = frozenset(g.role for g in self.role_grants.all())
            self.__dict__["_role_slugs"] = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_slugs.intersection(roles))


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=40, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_grant_per_role")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 digest is stored, the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of the audit trail."""

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    party_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["party_id", "-occurred_at"], name="audit_party_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class AuditChainHead(models.Model):
    """A single row locked while appending, so the chain stays linear under concurrency."""

    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash


class IdempotencyRecord(models.Model):
    """The first response to a create sent with an Idempotency-Key, replayed on a retry."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key", "scope"], name="one_response_per_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
