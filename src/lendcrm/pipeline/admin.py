"""Back office for the product catalogue: administrators rename, reorder, retire and bring back products,
saved through `services.update_product` so every change is validated and audited. Codes and families
are fixed (the seeded catalogue); products are never added or deleted here, because leads, opportunities
and proposals refer to them."""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from lendcrm.core.admin import ServiceAdmin
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Product
from lendcrm.pipeline.services.products import PRODUCT_EDITABLE


def _is_admin(request: HttpRequest) -> bool:
    return isinstance(request.user, User) and request.user.has_role(Role.ADMINISTRATOR)


@admin.register(Product)
class ProductAdmin(ServiceAdmin):
    list_display = ("code", "name", "local_name", "family", "is_active", "position")
    list_filter = ("family", "is_active")
    search_fields = ("code", "name", "local_name")
    ordering = ("position", "code")
    fields = ("code", "family", *PRODUCT_EDITABLE)
    readonly_fields = ("code", "family")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def save_model(self, request: HttpRequest, obj: Product, form: ModelForm, change: bool) -> None:
        services.update_product(
            actor=request.user,  # type: ignore[arg-type]
            product=obj,
            **{name: form.cleaned_data[name] for name in PRODUCT_EDITABLE},
        )
