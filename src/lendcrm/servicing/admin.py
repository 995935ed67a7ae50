"""Back office view of the loan book: facilities with their drawdowns, read-only. Facilities are booked,
drawn, repaid and reclassified only through the services (pages and API), so the admin never writes them;
administrators and whole-book roles may look them up."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lendcrm.core.access import sees_whole_book
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import Drawdown, Facility


def _may_look(request: HttpRequest) -> bool:
    user = request.user
    return (
        isinstance(user, User)
        and user.is_active
        and (user.has_role(Role.ADMINISTRATOR) or sees_whole_book(user))
    )


class ReadOnly:
    """Look, never change: every write to the loan book is a service."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_look(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_look(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DrawdownInline(ReadOnly, admin.TabularInline):
    model = Drawdown
    fields = ("reference", "amount", "value_date", "created_by", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Facility)
class FacilityAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("reference", "borrower", "kind", "currency", "limit", "outstanding_principal", "status")
    list_filter = ("status", "kind", "category", "branch")
    search_fields = ("reference", "borrower__legal_name", "borrower__local_name")
    list_select_related = ("borrower",)
    inlines = (DrawdownInline,)
    exclude = ("sculpting_cfads",)
