"""Back-office views of the customer master: read-only, because every write goes through a service (and so
into the audit trail), and only for staff whose roles see the whole book (an administrator alone does not)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lendcrm.core.access import sees_whole_book
from lendcrm.core.models import User
from lendcrm.parties.models import (
    Contact,
    ContactPoint,
    ContactRole,
    Coverage,
    Identifier,
    Party,
    Relationship,
)


def _sees_customers(request: HttpRequest) -> bool:
    return isinstance(request.user, User) and sees_whole_book(request.user)


class ReadOnly:
    """Look, filter and search; change through the application so the change is audited."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _sees_customers(request) and super().has_view_permission(request, obj)  # type: ignore[misc]


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _sees_customers(request) and super().has_module_permission(request)


class IdentifierInline(ReadOnly, admin.TabularInline):
    model = Identifier
    fields = readonly_fields = ("scheme", "value", "created_at")
    extra = 0


class CoverageInline(ReadOnly, admin.TabularInline):
    model = Coverage
    fields = readonly_fields = ("user", "role")
    extra = 0


class ContactRoleInline(ReadOnly, admin.TabularInline):
    model = ContactRole
    fields = readonly_fields = ("party", "role", "ownership_pct")
    extra = 0


class ContactPointInline(ReadOnly, admin.TabularInline):
    model = ContactPoint
    fields = readonly_fields = ("kind", "value", "label", "is_preferred")
    extra = 0


@admin.register(Party)
class PartyAdmin(ReadOnlyAdmin):
    list_display = ("id", "legal_name", "local_name", "kind", "segment", "lifecycle", "kyc_status", "branch")
    list_filter = ("kind", "segment", "lifecycle", "kyc_status", "branch")
    list_select_related = ("branch",)
    search_fields = ("legal_name", "local_name", "short_name", "=identifiers__value")
    ordering = ("legal_name", "id")
    exclude = ("search_text",)
    inlines = (IdentifierInline, CoverageInline)


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("id", "full_name", "local_name", "title", "nationality")
    search_fields = ("full_name", "local_name", "=points__value")
    ordering = ("full_name", "id")
    inlines = (ContactRoleInline, ContactPointInline)


@admin.register(Relationship)
class RelationshipAdmin(ReadOnlyAdmin):
    list_display = ("id", "from_party", "kind", "to_party", "ownership_pct", "created_at")
    list_filter = ("kind",)
    list_select_related = ("from_party", "to_party")
    search_fields = ("from_party__legal_name", "to_party__legal_name")
    raw_id_fields = ("from_party", "to_party")
    ordering = ("-created_at", "-id")
