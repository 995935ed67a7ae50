"""The three measured phases, each run in its own process so peak memory is per phase.

`seed`: migrate a fresh database and time the real `seed_bank`.
`raw`: migrate another fresh database, create the same organisation, regenerate the same rows in memory
(not timed) and time only a plain DB-API `executemany` of them, in the seeder's batches, in one
transaction (on PostgreSQL also a plain `COPY`, the seeder's own method there).
`api`: on the seeded database, time the customer 360 and party search through the API in-process, count
their queries, time the workspace pages (`pages.py`), and time the equivalent minimal reads on a plain
DB-API connection.

Django is imported lazily: `run.py` sets the environment (database URL, rate limits) first.
"""

import math
import os
import random
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

SEARCH_PAGE_SIZE = 20


def peak_rss_mb() -> float:
    """This process's peak resident set (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, so p95 is a latency some request actually had."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary_ms(timings: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Wall-clock percentiles, plus this process's CPU time per call (unaffected by other processes)."""
    ms = [wall * 1000 for wall, _ in timings]
    cpu = [c * 1000 for _, c in timings]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "cpu_p50_ms": round(percentile(cpu, 50), 3),
        "cpu_p95_ms": round(percentile(cpu, 95), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def say(line: str) -> None:
    print(f"    {line}", file=sys.stderr, flush=True)


def setup() -> None:
    import django

    django.setup()


def sqlite_path(url: str) -> str:
    return urlparse(url).path if url.startswith("sqlite:////") else url.removeprefix("sqlite:///")


def database_size(backend: str, url: str) -> int:
    """Bytes on disk: the SQLite file with its WAL, or pg_database_size."""
    if backend == "sqlite":
        path = sqlite_path(url)
        return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def raw_connect(backend: str, url: str, *, load: bool = False) -> Any:
    """A plain DB-API connection with the pragmas lendcrm uses, autocommit so we control transactions.

    With `load`, SQLite also gets the page cache the seeder sets for its bulk load, so the baseline runs
    with the same settings as the seeding it is compared with."""
    if backend == "sqlite":
        from lendcrm import seeding
        from lendcrm.core.db import SQLITE_PRAGMAS

        conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=20)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        cache_kib = getattr(seeding, "SQLITE_LOAD_CACHE_KIB", None)
        if load and cache_kib:
            conn.execute(f"PRAGMA cache_size = {-int(cache_kib)}")
        return conn
    import psycopg

    return psycopg.connect(url, autocommit=True)


def migrate() -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - started


def generated_tables() -> dict[str, str]:
    """db_table -> the seeder's name for it, for the tables the row generator fills."""
    from lendcrm.seeding.rows import TABLES

    return {model._meta.db_table: name for name, (model, _) in TABLES.items()}


# --- seed ---------------------------------------------------------------------------------------
def phase_seed(args: Any) -> dict[str, Any]:
    setup()
    from django.db import connection

    from lendcrm.seeding import seed_bank

    migrate_seconds = migrate()
    say(f"migrated in {migrate_seconds:.1f} s; seeding {args.parties:,} parties")
    started, cpu_started = time.perf_counter(), time.process_time()
    report = seed_bank(
        parties=args.parties,
        seed=args.seed,
        as_of=date.fromisoformat(args.as_of),
        interactions_per_party=args.interactions / args.parties,
        progress=say,
    )
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    names = set(generated_tables().values())
    counts = {k: v for k, v in report.counts.items() if k in names}
    analyze_seconds = 0.0
    if connection.vendor == "postgresql":  # what autovacuum would do shortly after a bulk load
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        analyze_seconds = time.perf_counter() - started
    connection.close()  # SQLite checkpoints its WAL into the file on the last close
    rows = sum(counts.values())
    return {
        "migrate_seconds": round(migrate_seconds, 3),
        "seconds": round(seconds, 3),
        "seed_report_seconds": round(report.seconds, 3),
        "process_cpu_seconds": round(cpu_seconds, 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "counts": counts,
        "other_counts": {k: v for k, v in report.counts.items() if k not in names},
        "rows": rows,
        "rows_per_s": round(rows / seconds, 1),
        "analyze_seconds": round(analyze_seconds, 3),
        "db_bytes": database_size(args.backend, args.database),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


# --- raw baseline ---------------------------------------------------------------------------------
def _raw_sql(backend: str, table: str, columns: Sequence[str]) -> str:
    mark = "?" if backend == "sqlite" else "%s"
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join([mark] * len(columns))})'


def _timed_executemany(backend: str, conn: Any, batches: Sequence[Any]) -> tuple[float, float]:
    """One transaction, one executemany per batch, as the seeder does; only this is timed."""
    cursor = conn.cursor()
    sql = {(b.table, b.columns): _raw_sql(backend, b.table, b.columns) for b in batches}
    started, cpu_started = time.perf_counter(), time.process_time()
    cursor.execute("BEGIN IMMEDIATE" if backend == "sqlite" else "BEGIN")
    for b in batches:
        cursor.executemany(sql[b.table, b.columns], b.rows)
    cursor.execute("COMMIT")
    return time.perf_counter() - started, time.process_time() - cpu_started


def _timed_copy(conn: Any, batches: Sequence[Any]) -> float:
    """PostgreSQL only: the same batches through a plain psycopg COPY, the seeder's method there."""
    cursor = conn.cursor()
    started = time.perf_counter()
    cursor.execute("BEGIN")
    for b in batches:
        cols = ", ".join(f'"{c}"' for c in b.columns)
        with cursor.copy(f'COPY "{b.table}" ({cols}) FROM STDIN') as copy:
            for row in b.rows:
                copy.write_row(row)
    cursor.execute("COMMIT")
    return time.perf_counter() - started


def phase_raw(args: Any) -> dict[str, Any]:
    setup()
    from django.db import connection, transaction

    from lendcrm.seeding import ensure_org, generate_rows

    migrate_seconds = migrate()
    with transaction.atomic():
        org = ensure_org(parties=args.parties, seed=args.seed)
    say("generating the same rows in memory (not timed)")
    started = time.perf_counter()
    batches = [
        batch
        for _, batch in generate_rows(
            org=org,
            parties=args.parties,
            seed=args.seed,
            as_of=date.fromisoformat(args.as_of),
            interactions_per_party=args.interactions / args.parties,
        )
    ]
    generate_seconds = time.perf_counter() - started
    names = generated_tables()
    counts: dict[str, int] = {}
    for b in batches:
        counts[names[b.table]] = counts.get(names[b.table], 0) + len(b.rows)
    rows = sum(counts.values())
    connection.close()
    say(f"generated {rows:,} rows in {generate_seconds:.1f} s; inserting with a plain executemany")
    conn = raw_connect(args.backend, args.database, load=True)
    seconds, cpu_seconds = _timed_executemany(args.backend, conn, batches)
    say(f"raw executemany: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    load = os.getloadavg()[0]
    result: dict[str, Any] = {
        "method": "executemany",
        "migrate_seconds": round(migrate_seconds, 3),
        "generate_seconds": round(generate_seconds, 3),
        "batches": len(batches),
        "batch_size": max(len(b.rows) for b in batches),
        "counts": counts,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "process_cpu_seconds": round(cpu_seconds, 3),
        "load_avg_1m": round(load, 2),
    }
    if args.backend == "postgres":
        tables = ", ".join(f'"{t}"' for t in names)
        conn.execute(f"TRUNCATE {tables}")
        copy_seconds = _timed_copy(conn, batches)
        say(f"raw COPY: {rows:,} rows in {copy_seconds:.1f} s ({rows / copy_seconds:,.0f} rows/s)")
        result["copy"] = {"seconds": round(copy_seconds, 3), "rows_per_s": round(rows / copy_seconds, 1)}
    conn.close()
    result["db_bytes"] = database_size(args.backend, args.database)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


# --- API ------------------------------------------------------------------------------------------
def _time_calls(call: Callable[[Any], Any], items: Iterable[Any]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of call(item) for each item."""
    out = []
    wall, cpu = time.perf_counter, time.process_time
    for item in items:
        w, c = wall(), cpu()
        call(item)
        out.append((wall() - w, cpu() - c))
    return out


def _client(user: Any) -> Any:
    from django.test import Client

    from lendcrm.core import services as core_services

    _, key = core_services.create_token(actor=None, user=user, name="bench")
    return Client(headers={"authorization": f"Token {key}"})


def _get_ok(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def _random_ids(rng: random.Random, low: int, high: int, k: int) -> list[int]:
    return [rng.randint(low, high) for _ in range(k)]


def search_terms(rng: random.Random, per_kind: int) -> list[tuple[str, str]]:
    """Search strings drawn from the seeded data: (kind, text), per_kind of each kind, shuffled."""
    from django.db.models import Max, Min

    from lendcrm.parties.models import ContactPoint, Identifier, Party

    def sample(model: Any, k: int, **filters: Any) -> list[Any]:
        qs = model.objects.filter(**filters)
        bounds = qs.aggregate(lo=Min("id"), hi=Max("id"))
        found: list[Any] = []
        while len(found) < k:
            ids = _random_ids(rng, bounds["lo"], bounds["hi"], 4 * k)
            found += list(qs.filter(id__in=ids).order_by("?")[: k - len(found)])
        return found

    terms: list[tuple[str, str]] = []
    for party in sample(Party, per_kind, local_name__gt=""):
        name = party.local_name
        size = rng.randint(2, min(4, len(name)))
        start = rng.randint(0, len(name) - size)
        terms.append(("chinese_fragment", name[start : start + size]))
    for party in sample(Party, per_kind):
        words = [w.strip(".,()") for w in party.legal_name.split()]
        words = [w for w in words if len(w) >= 3 and w.isalpha() and w.lower() not in {"co", "ltd"}]
        terms.append(("english_word", rng.choice(words) if words else party.legal_name.split()[0]))
    for ident in sample(Identifier, per_kind, scheme__in=["lei", "uscc"]):
        terms.append((f"{ident.scheme}", ident.value))
    for point in sample(ContactPoint, per_kind, kind="email"):
        terms.append(("email", point.value))
    rng.shuffle(terms)
    return terms


def phase_api(args: Any) -> dict[str, Any]:
    setup()
    from urllib.parse import urlencode

    from django.db import connection
    from django.db.models import Count, Max, Min
    from django.test.utils import CaptureQueriesContext

    from lendcrm.core import services as core_services
    from lendcrm.core.models import User
    from lendcrm.core.roles import Role
    from lendcrm.parties.models import Coverage, Party

    rng = random.Random(args.seed * 7919 + 1)
    analyst = core_services.create_user(actor=None, username="bench.analyst", roles=[Role.CREDIT_ANALYST])
    # The RM who leads the most parties: a busy, realistic scoped user.
    busiest = (
        Coverage.objects.filter(role="lead")
        .values("user_id")
        .annotate(n=Count("id"))
        .order_by("-n", "user_id")
        .first()
    )
    if busiest is None:
        raise SystemExit("the seeded database has no coverage")
    rm = User.objects.get(pk=busiest["user_id"])
    rm_visible = Party.objects.filter(branch=rm.branch).count()
    as_analyst, as_rm = _client(analyst), _client(rm)
    bounds = Party.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"], bounds["hi"]

    # Customer 360: warm up on other ids, then time, then count queries on the same ids.
    url = "/api/v1/parties/{}/360/".format
    for pid in _random_ids(random.Random(args.seed), lo, hi, args.warmup):
        _get_ok(as_analyst, url(pid))
    ids = _random_ids(rng, lo, hi, args.requests)
    say(f"customer 360: {len(ids)} requests")
    c360 = summary_ms(_time_calls(lambda pid: _get_ok(as_analyst, url(pid)), ids))
    queries = []
    for pid in ids:
        with CaptureQueriesContext(connection) as captured:
            _get_ok(as_analyst, url(pid))
        queries.append(len(captured.captured_queries))
    low, high = min(queries), max(queries)
    c360.update(queries_min=low, queries_max=high, queries_constant=low == high)
    sample_payload = _get_ok(as_analyst, url(ids[0])).json()
    c360["payload_keys"] = sorted(sample_payload)
    c360["avg_interactions"] = round(args.interactions / args.parties, 2)

    # Party search, as the analyst (whole book) and as the RM (branch and coverage).
    terms = search_terms(rng, args.searches // 4)
    texts = [text for _, text in terms]
    search_url = "/api/v1/parties/?{}".format
    warm = search_terms(random.Random(args.seed + 1), max(1, args.warmup // 8))
    for _, text in warm:
        _get_ok(as_analyst, search_url(urlencode({"search": text, "page_size": SEARCH_PAGE_SIZE})))
        _get_ok(as_rm, search_url(urlencode({"search": text, "page_size": SEARCH_PAGE_SIZE})))
    search: dict[str, Any] = {"queries": len(terms), "page_size": SEARCH_PAGE_SIZE, "kinds": {}}
    for kind, _ in terms:
        search["kinds"][kind] = search["kinds"].get(kind, 0) + 1
    for label, client in (("analyst", as_analyst), ("rm", as_rm)):
        say(f"party search as {label}: {len(terms)} queries")
        answers: list[Any] = []

        def one(text: str, client: Any = client, answers: list[Any] = answers) -> None:
            answers.append(
                _get_ok(client, search_url(urlencode({"search": text, "page_size": SEARCH_PAGE_SIZE})))
            )

        timings = _time_calls(one, texts)
        search[label] = summary_ms(timings)
        search[label]["by_kind"] = {
            kind: summary_ms([t for (k, _), t in zip(terms, timings, strict=True) if k == kind])
            for kind in sorted(search["kinds"])
        }
        hits = [int(answer.json()["count"]) for answer in answers]  # parsed after the clock stopped
        search[label]["with_hits"] = sum(1 for h in hits if h)
        search[label]["median_hits"] = statistics.median(hits)
    search["rm"].update(user=rm.username, branch_parties=rm_visible, leads=busiest["n"])
    from pages import measure_pages  # the workspace pages, as the same RM

    pages = measure_pages(args, rm, texts)
    connection.close()

    # The same reads on a plain DB-API connection: the floor the API is compared with.
    raw = RawReads(args.backend, raw_connect(args.backend, args.database), rm)
    for pid in _random_ids(random.Random(args.seed), lo, hi, args.warmup):
        raw.c360(pid)
    raw_c360 = summary_ms(_time_calls(raw.c360, ids))
    raw_c360["queries"] = raw.C360_QUERIES
    for _, text in warm:
        raw.search(text, scoped=False)
        raw.search(text, scoped=True)
    raw_search = {
        "analyst": summary_ms(_time_calls(raw.search_book, texts)),
        "rm": summary_ms(_time_calls(raw.search_scoped, texts)),
    }
    raw.conn.close()
    return {
        "c360": c360,
        "raw_c360": raw_c360,
        "search": search,
        "raw_search": raw_search,
        "pages": pages,
        "db_bytes_after": database_size(args.backend, args.database),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


class RawReads:
    """Minimal hand-written SQL for what the 360 and the search list show, on a plain cursor."""

    C360_QUERIES = 8

    def __init__(self, backend: str, conn: Any, rm: Any) -> None:
        from lendcrm.core.models import Branch, User
        from lendcrm.interactions.models import Interaction, Task
        from lendcrm.parties.models import Contact as ContactModel
        from lendcrm.parties.models import (
            ContactPoint,
            ContactRole,
            Coverage,
            Identifier,
            Party,
            Relationship,
        )

        self.conn, self.cursor = conn, conn.cursor()
        self.mark = "?" if backend == "sqlite" else "%s"
        self.rm_id, self.rm_branch = rm.pk, rm.branch_id
        t = {
            "party": Party._meta.db_table,
            "branch": Branch._meta.db_table,
            "user": User._meta.db_table,
            "ident": Identifier._meta.db_table,
            "cov": Coverage._meta.db_table,
            "contact": ContactModel._meta.db_table,
            "role": ContactRole._meta.db_table,
            "point": ContactPoint._meta.db_table,
            "rel": Relationship._meta.db_table,
            "inter": Interaction._meta.db_table,
            "task": Task._meta.db_table,
        }
        m = self.mark
        self.c360_sql = [
            f"SELECT p.*, b.code, b.name FROM {t['party']} p JOIN {t['branch']} b ON b.id = p.branch_id "
            f"WHERE p.id = {m}",
            f"SELECT scheme, value FROM {t['ident']} WHERE party_id = {m} ORDER BY scheme, value",
            f"SELECT c.role, u.id, u.username, u.first_name, u.last_name FROM {t['cov']} c "
            f"JOIN {t['user']} u ON u.id = c.user_id WHERE c.party_id = {m}",
            f"SELECT k.*, r.role, r.ownership_pct FROM {t['role']} r JOIN {t['contact']} k "
            f"ON k.id = r.contact_id WHERE r.party_id = {m} ORDER BY k.id",
            f"SELECT pt.* FROM {t['point']} pt WHERE pt.contact_id IN "
            f"(SELECT contact_id FROM {t['role']} WHERE party_id = {m})",
            f"SELECT r.*, p.legal_name FROM {t['rel']} r JOIN {t['party']} p ON p.id = r.to_party_id "
            f"WHERE r.from_party_id = {m} UNION ALL SELECT r.*, p.legal_name FROM {t['rel']} r "
            f"JOIN {t['party']} p ON p.id = r.from_party_id WHERE r.to_party_id = {m}",
            f"SELECT i.*, u.username FROM {t['inter']} i LEFT JOIN {t['user']} u ON u.id = i.staff_id "
            f"WHERE i.party_id = {m} ORDER BY i.occurred_at DESC, i.id DESC LIMIT 10",
            f"SELECT k.*, u.username FROM {t['task']} k JOIN {t['user']} u ON u.id = k.assignee_id "
            f"WHERE k.party_id = {m} AND k.status = 'open' ORDER BY k.due_date, k.id LIMIT 50",
        ]
        assert len(self.c360_sql) == self.C360_QUERIES
        self.t = t

    def c360(self, pid: int) -> None:
        for sql in self.c360_sql:
            params = (pid, pid) if sql.count(self.mark) == 2 else (pid,)
            self.cursor.execute(sql, params)
            self.cursor.fetchall()

    def search_book(self, text: str) -> None:
        self.search(text, scoped=False)

    def search_scoped(self, text: str) -> None:
        self.search(text, scoped=True)

    def search(self, text: str, *, scoped: bool) -> None:
        """The count and the first page, as the list endpoint does, with the same LIKE per word."""
        t, m = self.t, self.mark
        terms = text.lower().split()[:8]
        where = " AND ".join([f"p.search_text LIKE {m} ESCAPE '\\'"] * len(terms)) or "1 = 1"
        params: list[Any] = [
            "%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for s in terms
        ]
        if scoped:
            where += (
                f" AND (p.branch_id = {m} OR EXISTS (SELECT 1 FROM {t['cov']} c "
                f"WHERE c.user_id = {m} AND c.party_id = p.id))"
            )
            params += [self.rm_branch, self.rm_id]
        self.cursor.execute(f"SELECT COUNT(*) FROM {t['party']} p WHERE {where}", params)
        self.cursor.fetchall()
        self.cursor.execute(
            f"SELECT p.*, b.code FROM {t['party']} p JOIN {t['branch']} b ON b.id = p.branch_id "
            f"WHERE {where} ORDER BY p.legal_name, p.id LIMIT {SEARCH_PAGE_SIZE}",
            params,
        )
        page = [row[0] for row in self.cursor.fetchall()]
        if page:
            self.cursor.execute(
                f"SELECT party_id, scheme, value FROM {t['ident']} WHERE party_id IN "
                f"({', '.join([m] * len(page))}) ORDER BY scheme, value",
                page,
            )
            self.cursor.fetchall()


PHASES: dict[str, Callable[[Any], dict[str, Any]]] = {"seed": phase_seed, "raw": phase_raw, "api": phase_api}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    import django

    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        info["memory_gb"] = round(int(first[1]) / 1024 / 1024, 1)
    return info
