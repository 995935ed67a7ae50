"""lendcrm benchmark: seeding throughput against a raw insert, customer-360 and search latency, memory.

    .venv/bin/python bench/run.py                       # the issue's sizes, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --quick --backends sqlite --out /tmp/bench

Each backend gets fresh databases (SQLite: temporary files; PostgreSQL: `bench_lendcrm` and
`bench_lendcrm_raw` on 127.0.0.1:5432, dropped and created; skipped with a line when not reachable).
Every phase runs in a child process of this script (`--phase`), so each reports its own peak memory.
Results go to <out>/<backend>-<YYYYMMDD>.json and the table in <out>/RESULTS.md, printed here too.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_SEED_DB, PG_RAW_DB = "bench_lendcrm", "bench_lendcrm_raw"
# The API's rate limits would throttle a benchmark that sends hundreds of requests a second.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "lendcrm.settings",
    "LENDCRM_RATE_PER_CLIENT": "1000000/s",
    "LENDCRM_RATE_PER_ADDRESS": "1000000/s",
    "LENDCRM_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "LENDCRM_DEBUG": "0",
    "LENDCRM_LOG_LEVEL": "WARNING",  # no access-log line per request on the console
}
FULL = {"parties": 100_000, "interactions": 1_000_000}
QUICK = {"parties": 2_000, "interactions": 20_000}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parties", type=int, help=f"default {FULL['parties']:,} ({QUICK['parties']:,} quick)")
    p.add_argument("--interactions", type=int, help=f"default {FULL['interactions']:,}")
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    p.add_argument("--out", type=Path, default=HERE / "results", help="where the JSON and RESULTS.md go")
    p.add_argument("--quick", action="store_true", help="2,000 parties and 20,000 interactions")
    p.add_argument("--seed", type=int, default=2026, help="seed for the data and the request samples")
    p.add_argument("--as-of", default=datetime.now(UTC).date().isoformat(), help="seeding reference date")
    p.add_argument("--requests", type=int, default=300, help="customer-360 requests timed")
    p.add_argument("--searches", type=int, default=200, help="search queries timed, per user")
    p.add_argument("--warmup", type=int, default=40, help="untimed requests first")
    p.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    p.add_argument("--phase", choices=["seed", "raw", "api"], help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--database", help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.parties = args.parties or sizes["parties"]
    args.interactions = args.interactions if args.interactions is not None else sizes["interactions"]
    if args.parties < 1 or args.interactions < 0:
        p.error("--parties must be at least 1 and --interactions at least 0")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def run_phase(args: argparse.Namespace, phase: str, backend: str, url: str, workdir: Path) -> dict[str, Any]:
    """One phase in a child process of this script; its JSON result."""
    result = workdir / f"{backend}-{phase}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--phase", phase, "--backend", backend, "--database", url, "--result", str(result)),
        *("--parties", str(args.parties), "--interactions", str(args.interactions)),
        *("--seed", str(args.seed), "--as-of", args.as_of),
        *("--requests", str(args.requests), "--searches", str(args.searches)),
        *("--warmup", str(args.warmup)),
    ]
    print(f"  [{backend}] {phase} ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, env={**os.environ, **BENCH_ENV, "LENDCRM_DATABASE_URL": url}, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"the {phase} phase on {backend} failed (exit {done.returncode})")
    print(f"  [{backend}] {phase} done in {time.perf_counter() - started:.1f} s", flush=True)
    return dict(json.loads(result.read_text()))


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


def pg_reachable() -> str:
    """'' when PostgreSQL answers, else why not."""
    try:
        with pg_admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect means: skip PostgreSQL
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return ""


def pg_recreate(*names: str, create: bool = True) -> None:
    with pg_admin() as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                conn.execute(f'CREATE DATABASE "{name}"')


def pg_version() -> str:
    with pg_admin() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def bench_backend(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Any] | None:
    """Seed, raw baseline and API measurements on one backend; the combined result, or None if skipped."""
    import phases

    if backend == "postgres":
        why = pg_reachable()
        if why:
            print(f"  [postgres] SKIPPED: PostgreSQL is not reachable at {PG_SERVER} ({why})", flush=True)
            return None
        pg_recreate(PG_SEED_DB, PG_RAW_DB)
        seed_url, raw_url = f"{PG_SERVER}/{PG_SEED_DB}", f"{PG_SERVER}/{PG_RAW_DB}"
        version = pg_version()
    else:
        seed_url, raw_url = f"sqlite:///{workdir / 'seed.sqlite3'}", f"sqlite:///{workdir / 'raw.sqlite3'}"
        import sqlite3

        version = sqlite3.sqlite_version
    try:
        seed = run_phase(args, "seed", backend, seed_url, workdir)
        raw = run_phase(args, "raw", backend, raw_url, workdir)
        if raw["counts"] != seed["counts"]:
            raise SystemExit(f"the raw rows differ from the seeded ones: {raw['counts']} != {seed['counts']}")
        api = run_phase(args, "api", backend, seed_url, workdir)
    finally:
        if backend == "postgres" and not args.keep:
            pg_recreate(PG_SEED_DB, PG_RAW_DB, create=False)
    now = datetime.now(UTC)
    result = {
        "backend": backend,
        "database_version": version,
        "date": now.strftime("%Y-%m-%d"),
        "finished_at": now.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": phases.machine(),
        "environment": {k: v for k, v in BENCH_ENV.items() if k.startswith("LENDCRM_RATE")},
        "sizes": {
            "parties_requested": args.parties,
            "interactions_requested": args.interactions,
            "interactions_per_party": args.interactions / args.parties,
            "counts": seed["counts"],
            "rows": seed["rows"],
            "seed": args.seed,
            "as_of": args.as_of,
        },
        "seed": seed,
        "raw": raw,
        "seed_vs_raw": round(seed["rows_per_s"] / raw["rows_per_s"], 3),
        "c360": api["c360"],
        "raw_c360": api["raw_c360"],
        "c360_vs_raw_p50": round(api["c360"]["p50_ms"] / api["raw_c360"]["p50_ms"], 1),
        "search": api["search"],
        "raw_search": api["raw_search"],
        "pages": api["pages"],
        "page_360_vs_raw_p50": round(api["pages"]["party_360"]["p50_ms"] / api["raw_c360"]["p50_ms"], 1),
        "memory_mb": {
            "seed": seed["peak_rss_mb"],
            "raw": raw["peak_rss_mb"],
            "api": api["peak_rss_mb"],
        },
        "db_bytes": seed["db_bytes"],
    }
    if "copy" in raw:
        result["seed_vs_raw_copy"] = round(seed["rows_per_s"] / raw["copy"]["rows_per_s"], 3)
    result["targets"] = targets(result)
    return result


def targets(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets, judged on the measured figures."""
    c360, search, pages = r["c360"], r["search"], r["pages"]
    counted = (pages["party_list"], pages["party_360"])
    worst_search = max(search["analyst"]["p95_ms"], search["rm"]["p95_ms"])
    return {
        "seed_vs_raw": {"target": ">= 1/3", "value": r["seed_vs_raw"], "pass": r["seed_vs_raw"] >= 1 / 3},
        "c360_p95_ms": {"target": "< 50", "value": c360["p95_ms"], "pass": c360["p95_ms"] < 50},
        "c360_queries_constant": {
            "target": "min == max",
            "value": [c360["queries_min"], c360["queries_max"]],
            "pass": c360["queries_constant"],
        },
        "search_p95_ms": {"target": "< 150", "value": worst_search, "pass": worst_search < 150},
        "pages_queries_constant": {
            "target": "min == max (list, 360 page)",
            "value": [[p["queries_min"], p["queries_max"]] for p in counted],
            "pass": all(p["queries_min"] == p["queries_max"] for p in counted),
        },
    }


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.phase:
        os.environ.update(BENCH_ENV)
        os.environ["LENDCRM_DATABASE_URL"] = args.database
        import phases

        args.result.write_text(json.dumps(phases.PHASES[args.phase](args), indent=2, default=str))
        return 0

    import report

    print(
        f"lendcrm benchmark: {args.parties:,} parties, {args.interactions:,} interactions; "
        f"backends {', '.join(args.backends)}",
        flush=True,
    )
    print(
        f"  rate limits raised for the run: LENDCRM_RATE_PER_CLIENT={BENCH_ENV['LENDCRM_RATE_PER_CLIENT']}, "
        f"LENDCRM_RATE_PER_ADDRESS={BENCH_ENV['LENDCRM_RATE_PER_ADDRESS']}",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    ran = 0
    for backend in args.backends:
        workdir = Path(tempfile.mkdtemp(prefix=f"lendcrm-bench-{backend}-"))
        try:
            result = bench_backend(args, backend, workdir)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                print(f"  [{backend}] kept the work files in {workdir}", flush=True)
        if result is None:
            continue
        ran += 1
        path = args.out / f"{backend}-{result['date'].replace('-', '')}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"  [{backend}] wrote {path}", flush=True)
    table = report.refresh(args.out)
    print()
    print(table)
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
