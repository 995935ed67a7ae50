"""Credit policy writes: versions of the authority matrix and their limits, delegations, and the reference
data the admin configures (approval levels, master scale, turnaround targets, document requirements).

Administrators only, every change audited. A matrix is edited only while it is a draft; activating it
retires the active one (the database allows one active matrix), so a decision always names the version
it was judged under and that version never changes afterwards.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    Delegation,
    DocumentRequirement,
    MatrixStatus,
    RiskGrade,
    StageTarget,
)
from lendcrm.pipeline.models import Product, ProductFamily

MAX_NOTE = 300
# Fields of reference data fixed once a row exists: changing them would re-order or re-key live policy.
FIXED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    AuthorityLevel: ("slug", "rank", "is_committee"),
    RiskGrade: ("grade",),
}
CONFIGURATION = (AuthorityLevel, RiskGrade, StageTarget, DocumentRequirement)


def _require_admin(actor: User | None) -> None:
    """`None` is the system itself (migrations, tests, the seeder)."""
    if actor is not None and not (actor.is_active and actor.has_role(Role.ADMINISTRATOR)):
        raise errors.PermissionDenied(_("Only an administrator changes the credit policy."))


def _matrix_state(matrix: AuthorityMatrix) -> dict[str, Any]:
    return {"number": matrix.number, "status": matrix.status, "note": matrix.note}


def _limit_state(limit: AuthorityLimit, product_ids: Sequence[int]) -> dict[str, Any]:
    return {
        "level": limit.level.slug,
        "max_group_exposure": limit.max_group_exposure,
        "worst_grade": limit.worst_grade,
        "products": sorted(product_ids),
    }


def _audit(
    actor: User | None, action: str, object_type: str, object_id: object, changes: dict[str, Any]
) -> None:
    audit.record(actor=actor, action=action, object_type=object_type, object_id=object_id, changes=changes)


def _lock_matrix(matrix_id: object) -> AuthorityMatrix:
    matrix = AuthorityMatrix.objects.select_for_update().filter(pk=row_id(matrix_id)).first()
    if matrix is None:
        raise errors.NotFound()
    return matrix


def _require_draft(matrix: AuthorityMatrix) -> None:
    if matrix.status != MatrixStatus.DRAFT:
        raise errors.Conflict(
            _("Version %(n)s is %(status)s: only a draft can change. Copy it into a new draft.")
            % {"n": matrix.number, "status": MatrixStatus(matrix.status).label},
            code="matrix_not_draft",
        )


# --- matrix versions --------------------------------------------------------------------------------
def create_matrix_version(
    *, actor: User | None, copy_from: object | None = None, note: str = ""
) -> AuthorityMatrix:
    """A new draft version, empty or with the limits of `copy_from`."""
    _require_admin(actor)
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise errors.field_error("note", _("At most %(n)d characters.") % {"n": MAX_NOTE})
    with transaction.atomic():
        source = None
        if copy_from is not None:
            source = AuthorityMatrix.objects.filter(pk=row_id(copy_from)).first()
            if source is None:
                raise errors.field_error("copy_from", _("No such matrix version."))
        numbers = list(AuthorityMatrix.objects.select_for_update().values_list("number", flat=True))
        last = max(numbers, default=0)
        matrix = AuthorityMatrix.objects.create(
            number=last + 1,
            status=MatrixStatus.DRAFT,
            currency=source.currency if source else settings.LENDCRM_BASE_CURRENCY,
            note=note.strip(),
            created_by=actor,
        )
        if source is not None:
            for limit in source.limits.prefetch_related("products"):
                copy = AuthorityLimit.objects.create(
                    matrix=matrix,
                    level_id=limit.level_id,
                    max_group_exposure=limit.max_group_exposure,
                    worst_grade=limit.worst_grade,
                )
                copy.products.set(limit.products.all())
        _audit(
            actor,
            "authority_matrix.created",
            "authority_matrix",
            matrix.pk,
            {"after": _matrix_state(matrix), "copied_from": source.number if source else None},
        )
    return matrix


def _amount(value: object) -> Decimal | None:
    """A positive amount with at most two decimals that fits the column; None is unlimited."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise errors.field_error("max_group_exposure", _("Must be a number.")) from exc
    exponent = amount.normalize().as_tuple().exponent if amount.is_finite() else "n"
    if not isinstance(exponent, int) or amount <= 0 or exponent < -MONEY_DECIMAL_PLACES:
        raise errors.field_error(
            "max_group_exposure",
            _("Give a positive amount with at most two decimals, or none for unlimited."),
        )
    if amount.adjusted() >= MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES:
        raise errors.field_error("max_group_exposure", _("This amount is too large."))
    return amount


def set_limit(
    *,
    actor: User | None,
    matrix_id: object,
    level_id: object,
    max_group_exposure: Decimal | None,
    worst_grade: int,
    product_ids: Sequence[int] = (),
) -> AuthorityLimit:
    """Create or change what one level may decide under a draft matrix (no maximum: unlimited; no
    products: every product)."""
    _require_admin(actor)
    amount = _amount(max_group_exposure)
    if type(worst_grade) is not int or not RiskGrade.objects.filter(grade=worst_grade).exists():
        raise errors.field_error("worst_grade", _("Choose a grade of the master scale."))
    level = AuthorityLevel.objects.filter(pk=row_id(level_id)).first()
    if level is None:
        raise errors.field_error("level", _("No such authority level."))
    wanted = sorted(set(product_ids))
    if any(type(pk) is not int for pk in wanted):
        raise errors.field_error("products", _("Products are given by id."))
    found = list(Product.objects.filter(pk__in=wanted, family=ProductFamily.LENDING).order_by("pk"))
    if len(found) != len(wanted):
        raise errors.field_error("products", _("Choose lending products of the catalogue."))
    with transaction.atomic():
        matrix = _lock_matrix(matrix_id)
        _require_draft(matrix)
        limit = AuthorityLimit.objects.filter(matrix=matrix, level=level).first()
        before = _limit_state(limit, [p.pk for p in limit.products.all()]) if limit else {}
        if limit is None:
            limit = AuthorityLimit(matrix=matrix, level=level)
        limit.max_group_exposure = amount
        limit.worst_grade = worst_grade
        limit.save()
        limit.products.set(found)
        _audit(
            actor,
            "authority_matrix.limit_set",
            "authority_matrix",
            matrix.pk,
            audit.diff(before, _limit_state(limit, wanted)) | {"level": level.slug},
        )
    return limit


def remove_limit(*, actor: User | None, matrix_id: object, level_id: object) -> None:
    """Take a level out of a draft matrix: under it, that level decides nothing."""
    _require_admin(actor)
    with transaction.atomic():
        matrix = _lock_matrix(matrix_id)
        _require_draft(matrix)
        limit = (
            AuthorityLimit.objects.filter(matrix=matrix, level_id=row_id(level_id))
            .select_related("level")
            .first()
        )
        if limit is None:
            raise errors.NotFound()
        state = _limit_state(limit, list(limit.products.values_list("pk", flat=True)))
        limit.delete()
        _audit(actor, "authority_matrix.limit_removed", "authority_matrix", matrix.pk, {"before": state})


def activate_matrix(*, actor: User | None, matrix_id: object) -> AuthorityMatrix:
    """Put a draft in force and retire the active version. Refused unless its highest level can decide
    any application (no maximum, the worst grade of the scale, every product): otherwise an application
    beyond every limit could never be decided."""
    _require_admin(actor)
    with transaction.atomic():
        matrix = _lock_matrix(matrix_id)
        _require_draft(matrix)
        limits = list(matrix.limits.select_related("level").prefetch_related("products"))
        if not limits:
            raise errors.Conflict(_("Give the draft at least one level's limit first."), code="matrix_empty")
        top = max(limits, key=lambda lim: lim.level.rank)
        worst = RiskGrade.objects.aggregate(n=Max("grade"))["n"] or 0
        if top.max_group_exposure is not None or top.worst_grade < worst or top.products.all():
            raise errors.Conflict(
                _(
                    "%(level)s, the highest level of this draft, must be able to decide any application: "
                    "no maximum exposure, worst grade %(worst)s and every product."
                )
                % {"level": top.level.name, "worst": worst},
                code="matrix_top_level_limited",
            )
        retired = list(AuthorityMatrix.objects.select_for_update().filter(status=MatrixStatus.ACTIVE))
        for old in retired:
            old.status = MatrixStatus.RETIRED
            old.save(update_fields=["status"])
            _audit(actor, "authority_matrix.retired", "authority_matrix", old.pk, {"number": old.number})
        matrix.status = MatrixStatus.ACTIVE
        matrix.activated_at = timezone.now()
        matrix.save(update_fields=["status", "activated_at"])
        _audit(
            actor,
            "authority_matrix.activated",
            "authority_matrix",
            matrix.pk,
            {"number": matrix.number, "retired": [old.number for old in retired]},
        )
    return matrix


# --- delegations ----------------------------------------------------------------------------------
def grant_delegation(
    *, actor: User | None, user_id: object, level_id: object, valid_from: date, expires_on: date
) -> Delegation:
    """Give a person authority at one level for a period. A committee seat needs the committee member
    role; other levels a credit approver or relationship manager."""
    _require_admin(actor)
    user = User.objects.filter(pk=row_id(user_id), is_active=True).prefetch_related("role_grants").first()
    if user is None:
        raise errors.field_error("user", _("No such active member of staff."))
    level = AuthorityLevel.objects.filter(pk=row_id(level_id)).first()
    if level is None:
        raise errors.field_error("level", _("No such authority level."))
    if not isinstance(valid_from, date) or not isinstance(expires_on, date):
        raise errors.field_error("valid_from", _("Give both dates."))
    if expires_on < valid_from:
        raise errors.field_error("expires_on", _("The delegation cannot expire before it starts."))
    roles = (
        {Role.COMMITTEE_MEMBER} if level.is_committee else {Role.CREDIT_APPROVER, Role.RELATIONSHIP_MANAGER}
    )
    if not user.role_slugs & roles:
        raise errors.field_error(
            "user",
            _("Authority at %(level)s needs the role: %(roles)s.")
            % {"level": level.name, "roles": ", ".join(str(Role(r).label) for r in sorted(roles))},
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one grant at a time per person
        overlapping = Delegation.objects.filter(
            Q(user=user, level=level, revoked_at__isnull=True)
            & Q(valid_from__lte=expires_on, expires_on__gte=valid_from)
        )
        if overlapping.exists():
            raise errors.Conflict(
                _("%(user)s already holds %(level)s authority for part of this period.")
                % {"user": user.username, "level": level.name},
                code="delegation_overlaps",
            )
        delegation = Delegation.objects.create(
            user=user, level=level, valid_from=valid_from, expires_on=expires_on, granted_by=actor
        )
        _audit(
            actor,
            "delegation.granted",
            "delegation",
            delegation.pk,
            {"user": user.pk, "level": level.slug, "valid_from": valid_from, "expires_on": expires_on},
        )
    return delegation


def revoke_delegation(*, actor: User | None, delegation_id: object) -> Delegation:
    """End a delegation now; it stays on record."""
    _require_admin(actor)
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().filter(pk=row_id(delegation_id)).first()
        if delegation is None:
            raise errors.NotFound()
        if delegation.revoked_at is not None:
            raise errors.Conflict(_("This delegation is already revoked."), code="delegation_revoked")
        delegation.revoked_at = timezone.now()
        delegation.save(update_fields=["revoked_at"])
        _audit(actor, "delegation.revoked", "delegation", delegation.pk, {"user": delegation.user_id})
    return delegation


# --- reference data -------------------------------------------------------------------------------
def save_configuration(*, actor: User | None, obj: models.Model) -> models.Model:
    """Create or change a row of reference data (levels, master scale, turnaround targets, document
    requirements), validated by the model's own rules and audited with what changed."""
    _require_admin(actor)
    model = type(obj)
    if model not in CONFIGURATION:
        raise TypeError(f"{model.__name__} is not reference data")
    with transaction.atomic():
        stored = model._default_manager.select_for_update().filter(pk=obj.pk).first() if obj.pk else None
        before = audit.snapshot(stored) if stored is not None else {}
        for name in FIXED_FIELDS.get(model, ()) if stored is not None else ():
            if getattr(stored, name) != getattr(obj, name):
                raise errors.field_error(name, _("This cannot change once created."))
        try:
            obj.full_clean()
        except DjangoValidationError as exc:
            raise errors.ValidationFailed(field_errors=exc.message_dict) from exc
        obj.save()
        _audit(
            actor,
            f"{model._meta.model_name}.{'changed' if stored else 'created'}",
            str(model._meta.model_name),
            obj.pk,
            audit.diff(before, audit.snapshot(obj)),
        )
    return obj
