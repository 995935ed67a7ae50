"""The routing benchmark still runs end to end (few requests, SQLite), so it cannot rot unnoticed."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_routing_benchmark_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "routing.py"),
            *("--backends", "sqlite", "--out", str(tmp_path), "--requests", "5", "--warmup", "1"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "routing").glob("sqlite-*.json")
    result = json.loads(path.read_text())
    assert result["group_parties"] == 1001
    both = result["route_and_check"]
    assert both["queries_constant"]
    assert both["queries_min"] == both["queries_small_group"]
    assert result["raw_check"]["group_total_matches"]
    assert result["check"]["p95_ms"] > 0
    assert {t["pass"] for t in result["targets"].values()} <= {True, False}
    assert "route + check" in (tmp_path / "RESULTS.md").read_text()
    assert "route + check" in done.stdout
