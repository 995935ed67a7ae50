"""The daily job's orchestration: order, counts, summary, a failing step, a future day, the command."""

from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent
from lendcrm.monitoring import daily

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Steps that record their calls and return preset counts, in the job's order."""
    state: dict[str, Any] = {"calls": [], "counts": dict.fromkeys(daily.STEP_NAMES, 0), "fail": None}

    def make(name: str) -> Any:
        def step(*, as_of: date) -> int:
            state["calls"].append((name, as_of))
            if state["fail"] == name:
                raise RuntimeError(f"{name} broke")
            return int(state["counts"][name])

        return step

    monkeypatch.setattr(daily, "steps", lambda: tuple((name, make(name)) for name in daily.STEP_NAMES))
    return state


def test_the_steps_are_the_briefs_names_in_order() -> None:
    assert daily.STEP_NAMES == (
        "refresh_delinquency",
        "classify",
        "run_tests",
        "schedule_reviews",
        "evaluate_signals",
        "apply_watch_rules",
    )


def test_steps_run_in_order_for_the_day_and_report_their_counts(fake_steps: dict[str, Any]) -> None:
    day = timezone.localdate() - timedelta(days=3)
    fake_steps["counts"].update(refresh_delinquency=5, classify=2, evaluate_signals=1)
    run = daily.run_daily(as_of=day)
    assert fake_steps["calls"] == [(name, day) for name in daily.STEP_NAMES]
    assert [(s.name, s.changed) for s in run.steps] == [
        ("refresh_delinquency", 5),
        ("classify", 2),
        ("run_tests", 0),
        ("schedule_reviews", 0),
        ("evaluate_signals", 1),
        ("apply_watch_rules", 0),
    ]
    assert run.changed == 8
    assert run.summary().startswith(f"daily job {day.isoformat()}: refresh_delinquency 5, classify 2,")
    event = AuditEvent.objects.get(action="daily.run")
    assert event.actor is None
    assert event.changes["after"]["changed"] == 8
    assert daily.last_run() is not None
    assert daily.last_run()["as_of"] == day.isoformat()  # type: ignore[index]


def test_a_run_that_changes_nothing_writes_no_audit_event(fake_steps: dict[str, Any]) -> None:
    before = AuditEvent.objects.count()
    run = daily.run_daily()
    assert run.as_of == timezone.localdate()
    assert run.changed == 0
    assert AuditEvent.objects.count() == before
    assert daily.last_run() is None


def test_a_failing_step_stops_the_job_after_the_steps_before_it(fake_steps: dict[str, Any]) -> None:
    fake_steps["fail"] = "run_tests"
    with pytest.raises(RuntimeError, match="run_tests broke"):
        daily.run_daily()
    assert [name for name, _ in fake_steps["calls"]] == ["refresh_delinquency", "classify", "run_tests"]


def test_only_runs_the_named_steps_in_job_order(fake_steps: dict[str, Any]) -> None:
    run = daily.run_daily(only=("evaluate_signals", "classify"))
    assert [s.name for s in run.steps] == ["classify", "evaluate_signals"]
    with pytest.raises(errors.ValidationFailed) as refused:
        daily.run_daily(only=("reticulate",))
    assert "only" in refused.value.field_errors


def test_a_future_day_is_refused(fake_steps: dict[str, Any]) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        daily.run_daily(as_of=timezone.localdate() + timedelta(days=1))
    assert "as_of" in refused.value.field_errors
    assert fake_steps["calls"] == []


def test_the_command_prints_each_step_and_the_total(fake_steps: dict[str, Any]) -> None:
    fake_steps["counts"].update(classify=3)
    out = StringIO()
    day = timezone.localdate() - timedelta(days=1)
    call_command("daily", "--as-of", day.isoformat(), stdout=out)
    text = out.getvalue()
    assert f"Daily job for {day.isoformat()}:" in text
    for name in daily.STEP_NAMES:
        assert name in text
    assert "3 change(s)" in text
    fake_steps["counts"].update(classify=0)
    out = StringIO()
    call_command("daily", stdout=out)
    assert "nothing to change" in out.getvalue()


def test_the_command_refuses_a_future_day_and_a_bad_date(fake_steps: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match="future"):
        call_command("daily", "--as-of", (timezone.localdate() + timedelta(days=2)).isoformat())
    with pytest.raises(CommandError):
        call_command("daily", "--as-of", "yesterday")
