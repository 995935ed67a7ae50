from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "lendcrm.core"
    label = "core"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from lendcrm.core import db, schema  # noqa: F401  (schema registers the OpenAPI auth extension)

        db.install_connection_settings()


class LendcrmAdminConfig(admin_apps.AdminConfig):
    """Django's admin with lendcrm's site: open to administrators by role, not by the is_staff flag."""

    default = False  # named explicitly in INSTALLED_APPS; CoreConfig stays this module's default
    default_site = "lendcrm.core.admin_site.LendcrmAdminSite"
