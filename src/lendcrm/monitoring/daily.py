"""The daily post-loan job: delinquency, classification, covenant tests, reviews, signals and the
watchlist, in that order (each step reads what the previous one wrote), for one business day.

Every step is a set-based, idempotent service of its own area, so running the job twice on the same
day changes nothing the second time and reports zero for every step. The job is run by cron or the
scheduler through `lendcrm daily`, never by a web request; its changes are the system's (actor None).
"""

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.monitoring.services import covenants, reviews, signals, watchlist
from lendcrm.servicing.services import classification, delinquency

log = logging.getLogger("lendcrm.daily")


class Step(Protocol):
    """A step: called as `step(as_of=…)`, returns how many rows it changed."""

    def __call__(self, *, as_of: date) -> int: ...


def _schedule_reviews(*, as_of: date) -> int:
    """The review policies' defaults first (created only when a bank has none), then the reviews."""
    return reviews.ensure_default_review_policies() + reviews.schedule_reviews(as_of=as_of)


STEPS: tuple[tuple[str, Step], ...] = (
    ("refresh_delinquency", delinquency.refresh_delinquency),
    ("classify", classification.classify),
    ("run_tests", covenants.run_tests),
    ("schedule_reviews", _schedule_reviews),
    ("evaluate_signals", signals.evaluate_signals),
    ("apply_watch_rules", watchlist.apply_watch_rules),
)
STEP_NAMES = tuple(name for name, _step in STEPS)


def steps() -> tuple[tuple[str, Step], ...]:
    """The job's steps in order (a function, so a test can stand in others)."""
    return STEPS


@dataclass(frozen=True)
class StepResult:
    name: str
    changed: int
    seconds: float


@dataclass(frozen=True)
class DailyRun:
    """What one run did: rows changed and time taken per step."""

    as_of: date
    steps: tuple[StepResult, ...]
    seconds: float

    @property
    def changed(self) -> int:
        return sum(step.changed for step in self.steps)

    def summary(self) -> str:
        parts = ", ".join(f"{s.name} {s.changed}" for s in self.steps)
        return f"daily job {self.as_of.isoformat()}: {parts} ({self.changed} changed, {self.seconds:.1f} s)"

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "steps": [
                {"name": s.name, "changed": s.changed, "seconds": round(s.seconds, 3)} for s in self.steps
            ],
        }


def run_daily(*, as_of: date | None = None, only: tuple[str, ...] = ()) -> DailyRun:
    """Run the steps in order for `as_of` (default today); a step that fails stops the job (the steps
    before it are committed and idempotent, so running again continues where it stopped)."""
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise errors.ValidationFailed(
            _("The daily job runs for today or an earlier day, not a future one."),
            field_errors={"as_of": [_("Not after today.")]},
        )
    unknown = set(only) - set(STEP_NAMES)
    if unknown:
        raise errors.ValidationFailed(
            _("Unknown step: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            field_errors={"only": [_("One of: %(names)s.") % {"names": ", ".join(STEP_NAMES)}]},
        )
    started = time.perf_counter()
    results: list[StepResult] = []
    for name, step in steps():
        if only and name not in only:
            continue
        began = time.perf_counter()
        try:
            changed = step(as_of=as_of)
        except Exception:
            log.exception("daily step %s failed for %s", name, as_of.isoformat(), extra={"code": name})
            raise
        took = time.perf_counter() - began
        results.append(StepResult(name, changed, took))
        log.info(
            "daily step %s: %d changed",
            name,
            changed,
            extra={"code": name, "count": changed, "duration_ms": round(took * 1000)},
        )
    run = DailyRun(as_of, tuple(results), time.perf_counter() - started)
    log.info(
        run.summary(), extra={"code": "daily", "count": run.changed, "duration_ms": round(run.seconds * 1000)}
    )
    if run.changed:
        # One audit event per run that changed something; a re-run that changes nothing writes nothing.
        with transaction.atomic():
            audit.record(
                actor=None,
                action="daily.run",
                object_type="daily",
                object_id=as_of,
                changes={"after": run.as_dict()},
            )
    return run


def last_run() -> dict[str, object] | None:
    """The newest run that changed something (its audit event): as_of, counts per step, when."""
    from lendcrm.core.models import AuditEvent

    event = (
        AuditEvent.objects.filter(object_type="daily", action="daily.run")
        .order_by("-id")
        .only("changes", "occurred_at")
        .first()
    )
    if event is None:
        return None
    after = dict(event.changes.get("after", {}))
    after["occurred_at"] = event.occurred_at
    return after
