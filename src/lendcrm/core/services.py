"""Writes to the organisation: branches, staff users, roles and API tokens."""

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.auth import hash_token, new_token_key
from lendcrm.core.concurrency import check_version
from lendcrm.core.models import ApiToken, Branch, RoleGrant, User
from lendcrm.core.roles import Role

BRANCH_FIELDS = ("code", "name", "local_name", "city", "is_head_office")
USER_FIELDS = ("username", "first_name", "last_name", "email", "branch_id", "is_active")


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.ADMINISTRATOR):
        raise errors.PermissionDenied(_("Only an administrator manages branches and users."))


def create_branch(
    *,
    actor: User | None,
    code: str,
    name: str,
    local_name: str = "",
    city: str = "",
    is_head_office: bool = False,
) -> Branch:
    _require_admin(actor)
    code = code.strip().upper()
    with transaction.atomic():
        if Branch.objects.filter(code=code).exists():
            raise errors.field_error(
                "code", _("A branch with code %(code)s already exists.") % {"code": code}, code="duplicate"
            )
        if is_head_office and Branch.objects.filter(is_head_office=True).exists():
            raise errors.field_error("is_head_office", _("There is already a head office."), code="duplicate")
        branch = Branch.objects.create(
            code=code,
            name=name.strip(),
            local_name=local_name.strip(),
            city=city.strip(),
            is_head_office=is_head_office,
        )
        audit.record(
            actor=actor,
            action="branch.created",
            object_type="branch",
            object_id=branch.pk,
            changes={"after": audit.snapshot(branch, BRANCH_FIELDS)},
        )
    return branch


BRANCH_EDITABLE = ("name", "local_name", "city")


def update_branch(
    *, actor: User | None, branch: Branch, expected_version: int | None = None, **fields: str
) -> Branch:
    """Rename a branch or move its city; its code and head-office flag are fixed once created."""
    _require_admin(actor)
    unknown = sorted(set(fields) - set(BRANCH_EDITABLE))
    if unknown:
        raise errors.ValidationFailed(field_errors={f: [_("Unknown field.")] for f in unknown})
    if "name" in fields and not fields["name"].strip():
        raise errors.field_error("name", _("A branch needs a name."))
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        check_version(locked, expected_version)
        before = audit.snapshot(locked, BRANCH_FIELDS)
        for name, value in fields.items():
            setattr(locked, name, value.strip())
        after = audit.snapshot(locked, BRANCH_FIELDS)
        if after == before:
            return locked
        locked.version += 1
        locked.save()
        audit.record(
            actor=actor,
            action="branch.updated",
            object_type="branch",
            object_id=locked.pk,
            changes=audit.diff(before, after),
        )
    return locked


def _validated_roles(roles: Iterable[str]) -> list[str]:
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise errors.field_error(
            "roles",
            _("Unknown role: %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(Role.values)},
        )
    return roles


def create_user(
    *,
    actor: User | None,
    username: str,
    roles: Iterable[str],
    branch: Branch | None = None,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Create a member of staff; without a password the account can only use API tokens."""
    _require_admin(actor)
    role_list = _validated_roles(roles)
    username = username.strip()
    if not username:
        raise errors.field_error("username", _("A username is required."))
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, branch=branch)
    if password:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise errors.ValidationFailed(field_errors={"password": list(exc.messages)}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise errors.field_error(
                "username", _("The username %(name)s is taken.") % {"name": username}, code="duplicate"
            )
        user.save()
        RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in role_list])
        audit.record(
            actor=actor,
            action="user.created",
            object_type="user",
            object_id=user.pk,
            changes={"after": {**audit.snapshot(user, USER_FIELDS), "roles": role_list}},
        )
    return user


def update_user(
    *,
    actor: User | None,
    user: User,
    expected_version: int | None = None,
    roles: Iterable[str] | None = None,
    **fields: object,
) -> User:
    """Change a user's profile, branch, active flag or roles."""
    _require_admin(actor)
    unknown = set(fields) - {"first_name", "last_name", "email", "branch", "is_active"}
    if unknown:
        raise errors.ValidationFailed(field_errors={f: [_("Unknown field.")] for f in unknown})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = {**audit.snapshot(locked, USER_FIELDS), "roles": sorted(locked.role_slugs)}
        check_version(locked, expected_version)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.version += 1
        locked.save()
        if roles is not None:
            role_list = _validated_roles(roles)
            RoleGrant.objects.filter(user=locked).exclude(role__in=role_list).delete()
            have = set(RoleGrant.objects.filter(user=locked).values_list("role", flat=True))
            RoleGrant.objects.bulk_create(
                [RoleGrant(user=locked, role=r) for r in role_list if r not in have]
            )
            locked.__dict__.pop("_role_slugs", None)
        after = {**audit.snapshot(locked, USER_FIELDS), "roles": sorted(locked.role_slugs)}
        audit.record(
            actor=actor,
            action="user.updated",
            object_type="user",
            object_id=locked.pk,
            changes=audit.diff(before, after),
        )
    return locked


def create_token(*, actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue a personal API token; the key is returned once and only its digest is kept."""
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor)
    key, prefix = new_token_key()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=hash_token(key))
        audit.record(
            actor=actor,
            action="token.created",
            object_type="api_token",
            object_id=token.pk,
            changes={"after": {"user_id": user.pk, "name": name, "prefix": prefix}},
        )
    return token, key


def revoke_token(*, actor: User | None, token: ApiToken) -> None:
    if actor is not None and actor.pk != token.user_id:
        _require_admin(actor)
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit.record(actor=actor, action="token.revoked", object_type="api_token", object_id=token.pk)


def unlock_user(*, actor: User | None, user: User) -> None:
    """Lift a lockout after failed sign-ins (the person has been identified some other way)."""
    _require_admin(actor)
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk).exclude(locked_until=None, failed_login_count=0)
        if not changed.update(locked_until=None, failed_login_count=0):
            return
        audit.record(actor=actor, action="user.unlocked", object_type="user", object_id=user.pk)
