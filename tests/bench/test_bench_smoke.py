"""The benchmark script still runs end to end (on a tiny bank), so `make bench` cannot rot unnoticed."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POSITIVE = [
    ("seed", "seconds"),
    ("seed", "rows_per_s"),
    ("raw", "seconds"),
    ("raw", "rows_per_s"),
    ("c360", "p50_ms"),
    ("c360", "p95_ms"),
    ("c360", "queries_min"),
    ("raw_c360", "p50_ms"),
    ("memory_mb", "seed"),
    ("memory_mb", "api"),
]


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        data = data[key]
    return data


def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            *("--quick", "--backends", "sqlite", "--out", str(tmp_path)),
            *("--requests", "20", "--searches", "20", "--warmup", "4"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = list(tmp_path.glob("sqlite-*.json"))
    assert len(files) == 1, files
    result = json.loads(files[0].read_text())
    for key in ("sizes", "seed", "raw", "seed_vs_raw", "c360", "search", "raw_search", "targets", "machine"):
        assert key in result, key
    assert result["sizes"]["counts"]["parties"] == 2_000
    assert result["sizes"]["counts"]["interactions"] == 20_000
    assert result["raw"]["counts"] == result["seed"]["counts"]  # the baseline inserted the same rows
    for path in POSITIVE:
        assert _get(result, *path) > 0, path
    assert result["seed_vs_raw"] > 0
    assert result["db_bytes"] > 0
    assert result["c360"]["queries_min"] <= result["c360"]["queries_max"]
    for user in ("analyst", "rm"):
        assert result["search"][user]["p95_ms"] > 0
        assert result["raw_search"][user]["p95_ms"] > 0
    assert sum(result["search"]["kinds"].values()) == result["search"]["queries"] == 20
    assert {t["pass"] for t in result["targets"].values()} <= {True, False}
    table = (tmp_path / "RESULTS.md").read_text()
    assert "seed / raw" in table
    assert "seed / raw" in done.stdout  # the same table is printed
