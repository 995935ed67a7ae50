"""The daily-job benchmark still runs end to end (a few hundred facilities, SQLite), so it cannot rot
unnoticed: the job runs, a same-day re-run changes nothing, and its arrears agree with the SQL pass."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_daily_benchmark_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "daily.py"),
            *("--backends", "sqlite", "--out", str(tmp_path), "--facilities", "300", "--repeats", "1"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "daily").glob("sqlite-*.json")
    result = json.loads(path.read_text())
    assert result["facilities"] == 300
    assert result["generated"]["counts"]["instalments"] > 300
    assert result["first_run"]["changed"] > 0
    assert set(result["first_run"]["steps"]) == {
        "refresh_delinquency",
        "classify",
        "run_tests",
        "schedule_reviews",
        "evaluate_signals",
        "apply_watch_rules",
    }
    assert result["rerun_changed"] == 0
    assert result["rerun_audit_events"] == 0
    assert result["totals_match"]
    assert result["ratio_first_run"] > 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "The daily job (`bench/daily.py`)" in text
    assert "ratio to the SQL pass" in done.stdout
