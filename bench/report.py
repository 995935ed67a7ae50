"""RESULTS.md: one column per result file in the output folder, targets beside the figures."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HEADER = """# lendcrm benchmark results

Written by `bench/run.py` (`make bench`) from the JSON files beside this one; one column per file, the
newest run of each backend and day. Latencies are wall-clock times of in-process requests through
Django's test `Client` (the whole middleware, authentication, throttling, serialisation and the audit
write of every 360 read) after a warm-up; "raw" columns are the same reads with hand-written SQL on a
plain DB-API cursor. Rate limits were raised for the run (see each JSON's `environment`).
The machine may be shared: the CPU rows are the benchmark process's own CPU time per request (other
processes do not inflate them), and the load-average row says how busy the machine was meanwhile.
"""


def _verdict(r: dict[str, Any], name: str) -> str:
    return "PASS" if r["targets"][name]["pass"] else "**MISS**"


def _span(s: dict[str, Any]) -> str:
    return f"{s['queries_min']}-{s['queries_max']}"


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def _lat(s: dict[str, Any]) -> str:
    return f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f} / {s['max_ms']:.1f}"


Row = tuple[str, str, Callable[[dict[str, Any]], str]]
PAGES = ("home", "party_list", "party_list_filtered", "party_360", "search", "tasks")
ROWS: list[Row] = [
    ("database", "", lambda r: f"{r['backend']} {r['database_version']}"),
    ("parties / interactions", "", lambda r: "{:,} / {:,}".format(*_sizes(r))),
    ("rows loaded (every generated table)", "", lambda r: f"{r['sizes']['rows']:,}"),
    ("seed: `seed_bank` (time, rows/s)", "", lambda r: _rate(r["seed"])),
    ("raw `executemany`, same rows (time, rows/s)", "", lambda r: _rate(r["raw"])),
    ("**seed / raw throughput**", "≥ 0.33", lambda r: f"{r['seed_vs_raw']:.2f} {_verdict(r, 'seed_vs_raw')}"),
    ("raw `COPY` (PostgreSQL; seed / COPY)", "", lambda r: _copy(r)),
    (
        "**360 API p50 / p95 / max ms**",
        "p95 < 50",
        lambda r: f"{_lat(r['c360'])} {_verdict(r, 'c360_p95_ms')}",
    ),
    ("**360 queries per request (min-max)**", "constant", lambda r: _queries(r)),
    ("360 API CPU ms per request p50 / p95", "", lambda r: _cpu(r["c360"])),
    ("360 raw SQL reads p50 / p95 / max ms", "", lambda r: _lat(r["raw_c360"])),
    ("360 API / raw (p50)", "", lambda r: f"{r['c360_vs_raw_p50']:.1f}x"),
    (
        "**search, analyst (whole book) p50 / p95 / max ms**",
        "p95 < 150",
        lambda r: f"{_lat(r['search']['analyst'])} {_verdict(r, 'search_p95_ms')}",
    ),
    (
        "**search, RM (scoped) p50 / p95 / max ms**",
        "p95 < 150",
        lambda r: f"{_lat(r['search']['rm'])} {_verdict(r, 'search_p95_ms')}",
    ),
    (
        "search API CPU ms p50 / p95: analyst; RM",
        "",
        lambda r: f"{_cpu(r['search']['analyst'])}; {_cpu(r['search']['rm'])}",
    ),
    ("search p50 / p95 ms by query kind, analyst", "", lambda r: _by_kind(r["search"]["analyst"])),
    (
        "search raw LIKE (SQLite: plain scan, no FTS), analyst p50 / p95 / max ms",
        "",
        lambda r: _lat(r["raw_search"]["analyst"]),
    ),
    ("search raw LIKE, RM p50 / p95 / max ms", "", lambda r: _lat(r["raw_search"]["rm"])),
    (
        "**workspace pages as the RM, p50 / p95 ms**",
        "",
        lambda r: "; ".join(
            f"{name.replace('_', ' ')} {r['pages'][name]['p50_ms']:.0f} / {r['pages'][name]['p95_ms']:.0f}"
            for name in PAGES
        ),
    ),
    (
        "**page queries per request (min-max): list; 360 page**",
        "constant",
        lambda r: (
            f"{_span(r['pages']['party_list'])}; {_span(r['pages']['party_360'])} "
            f"{_verdict(r, 'pages_queries_constant')}"
        ),
    ),
    ("360 page / raw 360 reads (p50)", "", lambda r: f"{r['page_360_vs_raw_p50']:.1f}x"),
    (
        "peak memory: seed / raw / API process",
        "",
        lambda r: "{seed:,.0f} / {raw:,.0f} / {api:,.0f} MB".format(**r["memory_mb"]),
    ),
    ("database size after seeding", "", lambda r: _mb(r["db_bytes"])),
    (
        "load average (1 min): seed / raw / 360 / search",
        "",
        lambda r: (
            f"{r['seed']['load_avg_1m']} / {r['raw']['load_avg_1m']} / {r['c360']['load_avg_1m']} / "
            f"{r['search']['rm']['load_avg_1m']}"
        ),
    ),
    (
        "machine",
        "",
        lambda r: (
            f"{r['machine']['nproc']} CPUs, {r['machine'].get('memory_gb', '?')} GB, "
            f"Python {r['machine']['python']}, Django {r['machine']['django']}"
        ),
    ),
    ("date", "", lambda r: r["finished_at"]),
]


ROUTING_HEADER = """## Routing and the authority check (`bench/routing.py`)

`route_application` (reads, the routing write and its audit event, committed) then `check_authority` for an
application whose borrower's group has 1,000 connected parties, on a fresh database; the raw column is the
check's reads as hand-written SQL on a plain cursor. Queries per request at 1,000 and at 10 parties.
"""


def render_routing(results: list[dict[str, Any]]) -> str:
    heads = [r["backend"] for r in results]
    rows: list[Row] = [
        ("database", "", lambda r: f"{r['backend']} {r['database_version']}"),
        ("group: parties; exposure (base currency); level", "", lambda r: _group(r)),
        (
            "**route + check p50 / p95 / max ms**",
            "p95 < 50",
            lambda r: f"{_lat(r['route_and_check'])} {_verdict(r, 'routing_p95_ms')}",
        ),
        (
            "**queries per request: min-max; at 10 parties**",
            "constant",
            lambda r: (
                f"{_span(r['route_and_check'])}; {r['route_and_check']['queries_small_group']} "
                f"{_verdict(r, 'routing_queries_constant')}"
            ),
        ),
        ("route + check CPU ms p50 / p95", "", lambda r: _cpu(r["route_and_check"])),
        ("route alone p50 / p95 / max ms", "", lambda r: _lat(r["route"])),
        ("check alone p50 / p95 / max ms (queries)", "", lambda r: _counted(r["check"])),
        ("raw check reads p50 / p95 / max ms (queries)", "", lambda r: _counted(r["raw_check"])),
        ("check / raw (p50)", "", lambda r: f"{r['check_vs_raw_p50']:.1f}x"),
        ("load average (1 min)", "", lambda r: str(r["route_and_check"]["load_avg_1m"])),
        ("date", "", lambda r: r["finished_at"]),
    ]
    lines = ["| measure | target | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(results)]
    for label, target, cell in rows:
        lines.append(f"| {label} | {target} | " + " | ".join(_safe(cell, r) for r in results) + " |")
    return "\n".join(lines)


def _counted(s: dict[str, Any]) -> str:
    return f"{_lat(s)} ({s['queries']})"


def _group(r: dict[str, Any]) -> str:
    return f"{r['group_parties']:,}; {float(r['group_exposure']):,.0f}; {r['level']}"


def _rate(phase: dict[str, Any]) -> str:
    return f"{phase['seconds']:.1f} s, {phase['rows_per_s']:,.0f}/s"


def _copy(r: dict[str, Any]) -> str:
    if "copy" not in r["raw"]:
        return "n/a"
    return f"{_rate(r['raw']['copy'])} ({r['seed_vs_raw_copy']:.2f})"


def _queries(r: dict[str, Any]) -> str:
    return f"{r['c360']['queries_min']}-{r['c360']['queries_max']} {_verdict(r, 'c360_queries_constant')}"


def _by_kind(s: dict[str, Any]) -> str:
    kinds = s["by_kind"]
    return "; ".join(f"{k} {v['p50_ms']:.0f} / {v['p95_ms']:.0f}" for k, v in sorted(kinds.items()))


def _cpu(s: dict[str, Any]) -> str:
    return f"{s['cpu_p50_ms']:.1f} / {s['cpu_p95_ms']:.1f}"


def _sizes(r: dict[str, Any]) -> tuple[int, int]:
    counts = r["sizes"]["counts"]
    return counts.get("parties", 0), counts.get("interactions", 0)


def render(results: list[dict[str, Any]]) -> str:
    heads = [f"{r['backend']}{' (quick)' if r.get('quick') else ''}" for r in results]
    lines = ["| measure | target | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(results)]
    for label, target, cell in ROWS:
        lines.append(f"| {label} | {target} | " + " | ".join(_safe(cell, r) for r in results) + " |")
    return "\n".join(lines)


def _safe(cell: Callable[[dict[str, Any]], str], r: dict[str, Any]) -> str:
    try:
        return cell(r)
    except (KeyError, TypeError, ZeroDivisionError):
        return "n/a"


def details(r: dict[str, Any]) -> str:
    s, c = r["search"], r["c360"]
    return (
        f"- **{r['backend']} {r['date']}**: counts {r['sizes']['counts']}; seed includes creating the "
        f"organisation and the audit event ({r['seed']['seed_report_seconds']:.1f} s inside `seed_bank`); "
        f"rows generated for the raw insert in {r['raw']['generate_seconds']:.1f} s (not timed), "
        f"{r['raw']['batches']} batches of ≤ {r['raw']['batch_size']:,} rows in one transaction. "
        f"360: {c['n']} requests on random parties, payload {', '.join(c['payload_keys'])}; raw reads "
        f"use {r['raw_c360']['queries']} queries and no audit write. Search: {s['queries']} queries "
        f"({', '.join(f'{k} {v}' for k, v in sorted(s['kinds'].items()))}), page size {s['page_size']}; "
        f"analyst found hits for {s['analyst']['with_hits']}, RM `{s['rm']['user']}` "
        f"({s['rm']['branch_parties']:,} parties at the branch, leads {s['rm']['leads']:,}) for "
        f"{s['rm']['with_hits']}."
    )


def newest(folder: Path) -> list[dict[str, Any]]:
    """The newest result of each backend in `folder`, SQLite first."""
    newest: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text())
        newest[r.get("backend", path.stem)] = r
    order = {"sqlite": 0, "postgres": 1}
    return sorted(newest.values(), key=lambda r: order.get(r.get("backend", ""), 9))


def refresh(out: Path) -> str:
    """Rewrite out/RESULTS.md from every result JSON there; return the table."""
    order = {"sqlite": 0, "postgres": 1}
    results = [json.loads(p.read_text()) for p in out.glob("*.json")]
    results.sort(key=lambda r: (r.get("date", ""), order.get(r.get("backend", ""), 9)))
    table = render(results) if results else "(no results yet)"
    notes = "\n".join(details(r) for r in results)
    machine = results[-1]["machine"] if results else {}
    rerun = (
        "Rerun: `make bench` (or `.venv/bin/python bench/run.py --backends sqlite,postgres`); "
        "`--quick` for 2,000 parties. Routing alone: `.venv/bin/python bench/routing.py`."
    )
    text = f"{HEADER}\n{table}\n\n## Notes per run\n\n{notes}\n\nMachine: `{machine}`\n\n{rerun}\n"
    routing = newest(out / "routing")
    if routing:
        text += f"\n{ROUTING_HEADER}\n{render_routing(routing)}\n"
    daily = newest(out / "daily")
    if daily:  # bench/daily.py renders its own section
        import daily as daily_bench

        text += f"\n{daily_bench.SECTION}\n\n{daily_bench.INTRO}\n\n{daily_bench.render(daily)}\n"
    (out / "RESULTS.md").write_text(text)
    return table
