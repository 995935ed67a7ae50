"""`lendcrm daily [--as-of YYYY-MM-DD] [--only STEP ...]`: the daily post-loan job (cron or the scheduler),
run as the system; prints what each step changed."""

from argparse import ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lendcrm.core import errors
from lendcrm.monitoring import daily


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"a date as YYYY-MM-DD, not {text!r}") from exc


class Command(BaseCommand):
    help = (
        "Run the daily post-loan job: delinquency, classification, covenant tests, reviews, "
        "early-warning signals, watchlist rules (idempotent: a second run the same day changes nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_day,
            default=None,
            help="the business day to run for (YYYY-MM-DD; default: today in the bank's time zone)",
        )
        parser.add_argument(
            "--only",
            nargs="+",
            choices=daily.STEP_NAMES,
            default=(),
            help="run only these steps, in job order",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = daily.run_daily(as_of=options["as_of"], only=tuple(options["only"]))
        except errors.DomainError as exc:
            raise CommandError(str(exc)) from exc
        width = max(len(name) for name in daily.STEP_NAMES)
        self.stdout.write(f"Daily job for {run.as_of.isoformat()}:")
        for step in run.steps:
            self.stdout.write(f"  {step.name:<{width}}  {step.changed:>8,} changed  {step.seconds:8.2f} s")
        verdict = f"{run.changed:,} change(s)" if run.changed else "nothing to change"
        self.stdout.write(self.style.SUCCESS(f"Done in {run.seconds:.1f} s: {verdict}."))
