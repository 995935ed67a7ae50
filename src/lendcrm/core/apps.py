from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lendcrm.core"
    label = "core"
    verbose_name = "lendcrm core"

    def ready(self) -> None:
        from lendcrm.core import db, schema  # noqa: F401  (schema registers the OpenAPI auth extension)

        db.install_connection_settings()
