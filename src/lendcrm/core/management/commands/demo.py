"""`lendcrm demo`: migrate, seed a demo bank if the database is empty, print logins and a token, serve."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lendcrm import seeding
from lendcrm.core import services
from lendcrm.core.management.commands.seed import print_logins
from lendcrm.core.management.commands.serve import url_for
from lendcrm.core.models import User
from lendcrm.parties.models import Party
from lendcrm.seeding import credit, postloan

DEMO_SEED = 2026


class Command(BaseCommand):
    help = (
        "Set up and serve a demo: migrate, seed (only an empty database), demo logins, an API token, serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--parties", type=int, default=2000, help="parties to seed (default 2000)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="stop after printing the logins and token"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = self.stdout.write
        out("[1/3] Applying database migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        if Party.objects.exists():
            out("[2/3] The database already has parties; leaving them as they are.")
        else:
            out(f"[2/3] Seeding a synthetic bank with {options['parties']:,} parties…")
            seeding.seed_bank(
                parties=options["parties"],
                seed=DEMO_SEED,
                as_of=timezone.localdate(),
                progress=lambda line: out(f"      {line}"),
            )
        out("[3/3] Creating the demo logins and an API token…")
        logins = seeding.create_demo_logins()
        rm = User.objects.get(username=logins[0][0])
        credit.grant_demo_authority(timezone.localdate())
        staff = {u.username: u for u in User.objects.filter(username__in=("analyst", "approver"))}
        if credit.seed_demo_pipeline(rm=rm, analyst=staff["analyst"], approver=staff["approver"]):
            out(
                "      A demo pipeline: leads, opportunities, a term sheet, an application awaiting "
                "a decision and an offer."
            )
        postloan.seed_demo_postloan(rm=rm, say=lambda line: out(f"      {line}"))
        _, key = services.create_token(actor=None, user=rm, name="demo")
        url = url_for(options["host"], options["port"])
        out("")
        out(self.style.SUCCESS(f"lendcrm demo: {url}   API docs: {url}api/docs/"))
        print_logins(self, logins)
        out(f"API token of {rm.username} (shown once):")
        out(f"  {key}")
        out(f'Try: curl -H "Authorization: Token {key}" {url}api/v1/me/')
        out("")
        if not options["no_serve"]:
            call_command("serve", host=options["host"], port=options["port"])
