"""`lendcrm seed --parties N --seed S`: load a realistic synthetic bank (a bulk load; see lendcrm.seeding)."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lendcrm import seeding
from lendcrm.core import errors


class Command(BaseCommand):
    help = (
        "Load a synthetic bank: branches, staff of every role, parties of all eight kinds with groups, "
        "sponsors, contacts, interactions and tasks. The same --seed and --as-of give the same data. This is "
        "a bulk load that bypasses the per-row services on purpose and writes one audit event, seed.loaded. "
        "It refuses a database that already has parties unless --append (which reuses branches and staff)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--parties", type=int, default=1000, help="number of parties (default 1000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--interactions-per-party", type=float, default=10.0, help="average (default 10)")
        parser.add_argument(
            "--years", type=int, default=2, help="history of interactions in years (default 2)"
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help="reference date YYYY-MM-DD (default today)"
        )
        parser.add_argument(
            "--append", action="store_true", help="add to a database that already has parties"
        )
        parser.add_argument(
            "--demo-logins", action="store_true", help="also create the published demo logins"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = options["as_of"] or timezone.localdate()
        self.stdout.write(f"Seeding {options['parties']:,} parties (seed {options['seed']}, as of {as_of})…")
        try:
            report = seeding.seed_bank(
                parties=options["parties"],
                seed=options["seed"],
                as_of=as_of,
                interactions_per_party=options["interactions_per_party"],
                years=options["years"],
                append=options["append"],
                progress=self.stdout.write,
            )
        except seeding.SeedRefused as exc:
            raise CommandError(f"{exc.detail} (lendcrm seed --append)") from exc
        except errors.DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            self.style.SUCCESS(
                "Seeded: "
                + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in report.counts.items())
            )
        )
        if options["demo_logins"]:
            print_logins(self, seeding.create_demo_logins())


def print_logins(command: BaseCommand, logins: list[tuple[str, str, str]]) -> None:
    command.stdout.write(f"Demo logins (password {seeding.DEMO_PASSWORD}):")
    for username, role, _ in logins:
        command.stdout.write(f"  {username:<12} {role}")
