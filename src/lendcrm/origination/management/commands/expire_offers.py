"""`lendcrm expire_offers [--today YYYY-MM-DD]`: the daily job (cron or the scheduler) that expires every
live offer past its date, and its application, as the system (history and audit name no one)."""

from argparse import ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lendcrm.origination import services


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"a date as YYYY-MM-DD, not {text!r}") from exc


class Command(BaseCommand):
    help = "Expire every issued offer whose last day has passed, and its application (run daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            help="the day to run as (YYYY-MM-DD; default: today in the bank's time zone)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"] or timezone.localdate()
        expired = services.expire_stale(actor=None, today=today)
        if not expired:
            self.stdout.write(f"No offer was past its date on {today.isoformat()}.")
            return
        self.stdout.write(f"Expired {len(expired)} offer(s) as of {today.isoformat()}: {', '.join(expired)}")
