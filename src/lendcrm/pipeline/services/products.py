"""Writes to the product catalogue: administrators rename, reorder or retire products (never delete:
leads, opportunities and proposals point at them)."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.pipeline.models import Product
from lendcrm.pipeline.validation import Problems, check_int, check_text, collect, refuse

PRODUCT_EDITABLE = ("name", "local_name", "is_active", "position")
PRODUCT_AUDIT_FIELDS = ("code", "name", "local_name", "family", "is_active", "position")


def update_product(*, actor: User | None, product: Product, **changes: Any) -> Product:
    """Rename, reorder, retire or bring back a product; its code and family are fixed."""
    if actor is not None and not actor.has_role(Role.ADMINISTRATOR):
        raise errors.PermissionDenied(_("Only an administrator changes the product catalogue."))
    problems: Problems = {n: [_("Unknown field.")] for n in sorted(set(changes) - set(PRODUCT_EDITABLE))}
    attrs: dict[str, Any] = {}
    for name in ("name", "local_name"):
        if name in changes:
            attrs[name] = collect(
                problems, name, check_text, changes[name], limit=200, required=name == "name"
            )
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            problems["is_active"] = [_("Must be true or false.")]
        attrs["is_active"] = changes["is_active"]
    if "position" in changes:
        attrs["position"] = collect(problems, "position", check_int, changes["position"], low=0, high=32767)
    refuse(problems)
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        before = audit.snapshot(locked, PRODUCT_AUDIT_FIELDS)
        for name, value in attrs.items():
            setattr(locked, name, value)
        after = audit.snapshot(locked, PRODUCT_AUDIT_FIELDS)
        if after == before:
            return locked
        locked.save()
        audit.record(
            actor=actor,
            action="product.updated",
            object_type="product",
            object_id=locked.pk,
            changes=audit.diff(before, after),
        )
    return locked
