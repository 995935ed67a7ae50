"""Back-office views of interactions and tasks: read-only, because every write goes through a service
(and so into the audit trail)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lendcrm.interactions.models import Interaction, Task


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, filter and search; change through the application so the change is audited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ("id", "occurred_at", "party", "channel", "direction", "subject", "staff", "source_system")
    list_filter = ("channel", "direction", "source_system", "occurred_at")
    list_select_related = ("party", "staff")
    search_fields = ("external_id", "subject")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-id")
    raw_id_fields = ("party", "contact", "staff")
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "party", "kind", "status", "due_date", "assignee", "completed_at")
    list_filter = ("status", "kind", "due_date")
    list_select_related = ("party", "assignee")
    search_fields = ("title",)
    date_hierarchy = "due_date"
    ordering = ("due_date", "id")
    raw_id_fields = ("party", "assignee", "created_by", "completed_by")
    show_full_result_count = False
