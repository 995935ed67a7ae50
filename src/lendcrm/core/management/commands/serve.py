"""`lendcrm serve`: the application under waitress, a production-grade pure-Python WSGI server."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def url_for(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class Command(BaseCommand):
    help = "Serve lendcrm with waitress. Static files are served by the app itself (WhiteNoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve  # type: ignore[import-untyped]

        from lendcrm.wsgi import application

        url = url_for(options["host"], options["port"])
        self.stdout.write(f"lendcrm is serving on {url} (API docs: {url}api/docs/). Press Ctrl+C to stop.")
        self.stdout.flush()
        serve(
            application,
            host=options["host"],
            port=options["port"],
            threads=options["threads"],
            ident="lendcrm",
        )
