from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lendcrm.core"
    label = "core"
    verbose_name = "lendcrm core"

    def ready(self) -> None:
        from lendcrm.core import db

        db.install_connection_settings()
