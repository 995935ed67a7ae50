"""lendcrm's admin site: open to administrators (and, read-only, to whole-book roles) by role rather
than by Django's is_staff flag, signing in through the workspace's own page. Kept apart from admin.py,
which registers models on this site, so that creating the site never imports itself."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from lendcrm.core.access import sees_whole_book
from lendcrm.core.models import User
from lendcrm.core.roles import Role


class LendcrmAdminSite(admin.AdminSite):
    site_header = _("lendcrm administration")
    site_title = _("lendcrm administration")
    index_title = _("Back-office configuration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return (
            isinstance(user, User)
            and user.is_active
            and (user.has_role(Role.ADMINISTRATOR) or sees_whole_book(user))
        )

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """One sign-in page (with its lockout) for the workspace and the back office."""
        return redirect_to_login(request.GET.get("next", reverse("admin:index")))
