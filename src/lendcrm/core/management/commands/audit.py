"""`lendcrm audit verify`: walk the hash chain and name the first tampered entry."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lendcrm.core.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit trail. `verify` exits non-zero and names the first bad entry if the chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{verify}")
        actions.add_parser("verify", help="recompute every entry's hash and link")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Verifying the audit chain…")
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at entry {report.first_bad_id}: {report.reason} "
                f"({report.checked} earlier entries verified)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries checked."))
