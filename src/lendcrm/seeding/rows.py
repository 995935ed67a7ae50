"""The row generator: every table's rows as plain tuples, ids assigned up front, values in database types."""

import bisect
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from django.db import connection, models

from lendcrm.core.roles import Role
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties.models import (
    Contact,
    ContactPoint,
    ContactRole,
    Coverage,
    Identifier,
    Party,
    PartySearchGram,
    Relationship,
)
from lendcrm.parties.search import cjk_pairs
from lendcrm.parties.services import search_text_of
from lendcrm.seeding import words as w
from lendcrm.seeding.names import (
    LEI_CHARS,
    log_uniform,
    make_lei,
    make_national_id,
    make_uscc,
    person,
    pick,
    plan,
    slug,
)

LIFECYCLES, LIFECYCLE_WEIGHTS = ("prospect", "active", "dormant", "former"), (12, 87, 95, 100)
BATCH_SIZE = 5000
PARTY_CHUNK = 2000
INTERACTION_CHUNK = 50_000
NATURAL = ("individual", "sole_trader")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Batch:
    """Rows for one table, ready for `executemany` (values already in the database's own types)."""

    table: str
    columns: tuple[str, ...]
    rows: list[Row]

    def insert_sql(self) -> str:
        quote = connection.ops.quote_name
        cols = ", ".join(quote(c) for c in self.columns)
        marks = ", ".join(["%s"] * len(self.columns))
        return f"INSERT INTO {quote(self.table)} ({cols}) VALUES ({marks})"  # noqa: S608 - names from models

    def copy_sql(self) -> str:
        quote = connection.ops.quote_name
        return f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"


@dataclass
class Org:
    """The branches and staff that parties are booked at and covered by."""

    head_office: int
    branches: list[int]  # the other branches, in words.BRANCHES order
    province: dict[int, int]  # branch id -> index into words.PROVINCES
    staff: dict[int, dict[str, list[int]]]  # branch id -> role -> user ids


def _cols(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Values:
    """Values as the connection stores them, converted once per value instead of through model fields."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"

    def stamp(self, moment: datetime) -> Any:
        # Django keeps aware datetimes on SQLite as naive UTC text; PostgreSQL takes them as they are.
        return str(moment.replace(tzinfo=None)) if self.sqlite else moment

    def day(self, value: date | None) -> Any:
        return value.isoformat() if self.sqlite and value is not None else value

    def money(self, value: Decimal | None) -> Any:
        return str(value) if self.sqlite and value is not None else value


# Columns each generated row fills, in order; other columns get their model default.
TABLES: dict[str, tuple[type[models.Model], tuple[str, ...]]] = {
    "parties": (
        Party,
        _cols(
            "id created_at updated_at version kind legal_name local_name short_name country industry_code "
            "annual_revenue annual_revenue_currency total_assets total_assets_currency employees "
            "incorporation_date birth_date segment lifecycle kyc_status kyc_next_review branch_id search_text"
        ),
    ),
    "search_grams": (PartySearchGram, _cols("id party_id gram")),
    "identifiers": (Identifier, _cols("id party_id scheme value created_at")),
    "contacts": (
        Contact,
        _cols("id created_at updated_at version full_name local_name title birth_date nationality"),
    ),
    "contact_roles": (ContactRole, _cols("id contact_id party_id role ownership_pct")),
    "contact_points": (ContactPoint, _cols("id contact_id kind value label is_preferred")),
    "coverage": (Coverage, _cols("id party_id user_id role")),
    "relationships": (
        Relationship,
        _cols("id created_at updated_at version from_party_id to_party_id kind ownership_pct note"),
    ),
    "interactions": (
        Interaction,
        _cols(
            "id party_id contact_id channel direction occurred_at subject notes staff_id source_system "
            "external_id created_at"
        ),
    ),
    "tasks": (
        Task,
        _cols(
            "id created_at updated_at version party_id kind title description assignee_id created_by_id "
            "due_date status completed_at"
        ),
    ),
}
PARTY_TABLES = _cols("parties search_grams identifiers contacts contact_roles contact_points coverage")


def batches(name: str, rows: list[Row]) -> Iterator[Batch]:
    """Split rows into batches, appending constant defaults for columns the generator leaves out."""
    model, given = TABLES[name]
    missing = [f for f in model._meta.concrete_fields if f.column not in given]
    for f in missing:
        if not (f.has_default() or f.null):
            raise RuntimeError(f"seeding does not fill {model.__name__}.{f.name}: add it to lendcrm.seeding")
    extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in missing)
    columns = (*given, *(f.column for f in missing))
    for start in range(0, len(rows), BATCH_SIZE):
        chunk = rows[start : start + BATCH_SIZE]
        yield Batch(model._meta.db_table, columns, [r + extra for r in chunk] if extra else chunk)


# --- parties ------------------------------------------------------------------------------------


@dataclass
class Profile:
    """What one party looks like before it becomes rows."""

    legal: str
    local: str
    short: str
    industry: str
    segment: str
    label: str = ""  # what a foreign variant calls its business
    domain: str = ""  # for contact emails
    authority: str = "91"  # USCC registration authority and type
    revenue: Decimal | None = None
    assets: Decimal | None = None
    employees: int | None = None
    founded: date | None = None
    born: date | None = None
    person: tuple[str, str, str, str] | None = None
    people: list[tuple[str, ...]] = field(default_factory=list)  # roles per contact; "ubo=40" carries a %


class Generator:
    """Builds the rows of one seeding run; ids are assigned here, so no row needs a round trip."""

    def __init__(
        self,
        *,
        org: Org,
        parties: int,
        seed: int,
        as_of: date,
        next_ids: dict[str, int],
        taken: set[tuple[str, str]],
    ) -> None:
        self.org, self.n, self.seed, self.as_of, self.taken = org, parties, seed, as_of, taken
        self.first, self.next = dict(next_ids), dict(next_ids)
        self.v = Values()
        self.rng = self._rng("parties")
        self.plan = plan(self._rng("plan"), parties)
        self.noon = datetime.combine(as_of, dtime(12), tzinfo=UTC)
        self.lead: list[int] = []
        self.alt: list[int] = []
        self.contact: list[int | None] = []
        self.rows: dict[str, list[Row]] = {name: [] for name in PARTY_TABLES}
        shares = [spec[5] for spec in w.BRANCHES[1:]] + [4] * len(org.branches)
        self.branch_weights = list(itertools.accumulate(shares[: len(org.branches)]))

    def _rng(self, stream: str) -> random.Random:
        # Offsetting by the first party id keeps an appended run from repeating earlier names and identifiers.
        return random.Random(f"lendcrm:{self.seed}:{stream}:{self.first['parties']}")

    def _id(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value

    def _unique(self, scheme: str, make: Callable[[], str]) -> str:
        value = make()
        while (scheme, value) in self.taken:
            value = make()
        self.taken.add((scheme, value))
        return value

    def parties(self) -> Iterator[Batch]:
        for i in range(self.n):
            self._party(i)
            if (i + 1) % PARTY_CHUNK == 0 or i + 1 == self.n:
                for name in PARTY_TABLES:
                    rows, self.rows[name] = self.rows[name], []
                    yield from batches(name, rows)

    def _natural(self, kind: str, division: str, p_en: str, p_zh: str) -> Profile:
        r, rng = self.rng.random, self.rng
        who = person(rng)
        born = self.as_of - timedelta(days=int(365.25 * (23 + r() * 50)))
        if kind == "individual":
            return Profile(
                who[2], who[3], "", "", "retail", born=born, person=who, people=[("primary_contact",)]
            )
        isic, t_en, t_zh = pick(rng, w.TRADES)
        return Profile(
            f"{p_en} {who[2]} {t_en}",
            f"{p_zh}{who[3]}{t_zh}",
            f"{who[2]} {t_en}",
            isic,
            "small_business",
            authority="92",
            revenue=log_uniform(rng, 2e5, 5e6),
            employees=1 + int(r() * 9),
            born=born,
            founded=self.as_of - timedelta(days=200 + int(r() * 5000)),
            person=who,
            people=[("primary_contact", "ubo=100")],
        )

    def _company(self, kind: str, big: bool, b_en: str, b_zh: str, p_en: str, p_zh: str) -> Profile:
        r, rng = self.rng.random, self.rng
        isic, i_en, i_zh = pick(rng, w.INDUSTRIES)
        group = kind == "corporate" and big
        p = Profile(
            f"{p_en} {b_en} {i_en} {'Group ' if group else ''}Co., Ltd.",
            f"{p_zh}{b_zh}{i_zh}{'集团' if group else ''}有限公司",
            f"{b_en} {i_en}",
            isic,
            "sme",
            label=i_en,
            domain=slug(b_en) + slug(i_en),
        )
        if kind == "sme":
            p.revenue, p.employees = log_uniform(rng, 5e6, 4e8), 10 + int(r() * 290)
            p.segment = "small_business" if p.revenue < 20_000_000 else "sme"
            shares = [25 + int(r() * 76)]  # UBOs own 25 % or more; together never more than 100 %
            if r() < 0.5:
                shares = [a := 25 + int(r() * 13), b := 25 + int(r() * 13)]
                shares += [25 + int(r() * (76 - a - b))] if r() < 0.4 else []
            p.people = [("director", f"ubo={shares[0]}"), *((f"ubo={s}",) for s in shares[1:])]
            p.people += [("cfo",)] if r() < 0.6 else []
        else:
            p.revenue = log_uniform(rng, 3e9, 8e10) if big else log_uniform(rng, 4e8, 3e9)
            p.employees = int(float(p.revenue) / (6e5 + r() * 1.4e6))
            p.segment = "large_corporate" if big else "mid_corporate"
            people: list[tuple[str, ...]] = [("director",)] * (1 + int(r() * 2))
            p.people = [*people, ("cfo",)]
            p.people += [("treasurer",)] if r() < 0.5 else []
            p.people += [("authorised_signatory",)] if r() < 0.4 else []
            p.people += [(f"ubo={25 + int(r() * 45)}",)] if not big and r() < 0.3 else []
        p.assets = log_uniform(rng, float(p.revenue) * 0.5, float(p.revenue) * 2.5)
        p.founded = self.as_of - timedelta(days=200 + int(r() * 12000))
        return p

    def _project(self, b_en: str, b_zh: str, p_en: str, p_zh: str) -> Profile:
        r, rng = self.rng.random, self.rng
        isic, j_en, j_zh = pick(rng, w.PROJECTS)
        return Profile(
            f"{p_en} {b_en} {j_en} Project Co., Ltd.",
            f"{p_zh}{b_zh}{j_zh}项目有限公司",
            f"{b_en} {j_en}",
            isic,
            "project_finance",
            domain=slug(b_en) + slug(j_en),
            revenue=log_uniform(rng, 5e7, 1e9) if r() < 0.5 else None,  # none while under construction
            assets=log_uniform(rng, 3e8, 1.5e10),
            employees=5 + int(r() * 75),
            founded=self.as_of - timedelta(days=100 + int(r() * 2200)),
            people=[("director",), ("cfo",), ("sponsor_representative",)],
        )

    def _institution(self, kind: str, b_en: str, b_zh: str, p_en: str, p_zh: str) -> Profile:
        r, rng = self.rng.random, self.rng
        forms = {"financial_institution": w.FI_FORMS, "institutional_investor": w.INVESTOR_FORMS}
        isic, f_en, f_zh, authority = pick(rng, forms.get(kind, w.PUBLIC_FORMS))
        legal = f_en.format(p=p_en, b=b_en)
        institutional = kind != "public_entity"
        low, high = (1e10, 2e12) if kind == "financial_institution" else (1e9, 3e11)
        people: list[tuple[str, ...]] = (
            [("director",), ("treasurer",)] if institutional else [("primary_contact",)]
        )
        return Profile(
            legal,
            f_zh.format(pz=p_zh, bz=b_zh),
            legal.split(" Co.,")[0],
            isic,
            "institutional" if institutional else "public_sector",
            label={"financial_institution": "Bank", "institutional_investor": "Capital"}.get(kind, ""),
            domain=slug(b_en) + isic,
            authority=authority,
            assets=log_uniform(rng, low, high),
            employees=50 + int(r() * 5000),
            founded=self.as_of - timedelta(days=2000 + int(r() * 15000)),
            people=people + ([("authorised_signatory",)] if r() < 0.5 else []),
        )

    def _party(self, i: int) -> None:
        r, rng, v, org = self.rng.random, self.rng, self.v, self.org
        kind, big, (b_en, b_zh) = self.plan.kinds[i], self.plan.big[i], self.plan.brands[i]
        pid = self._id("parties")
        if big and r() < 0.35:
            branch = org.head_office
        else:
            branch = org.branches[bisect.bisect(self.branch_weights, r() * self.branch_weights[-1])]
        p_en, p_zh, division = w.PROVINCES[org.province[branch] if r() < 0.7 else int(r() * len(w.PROVINCES))]
        if kind in NATURAL:
            p = self._natural(kind, division, p_en, p_zh)
        elif kind in ("sme", "corporate"):
            p = self._company(kind, big, b_en, b_zh, p_en, p_zh)
        elif kind == "project_company":
            p = self._project(b_en, b_zh, p_en, p_zh)
        else:
            p = self._institution(kind, b_en, b_zh, p_en, p_zh)
        country, currency = "CN", "CNY"
        idents: list[tuple[str, str]] = []
        if p.born is not None:
            born = p.born
            idents.append(
                ("national_id", self._unique("national_id", lambda: make_national_id(rng, division, born)))
            )
        if p.label and kind != "sme" and r() < 0.1:  # a foreign corporate, bank or investor
            country, suffix = pick(rng, w.FOREIGN)
            currency, word = "USD", pick(rng, w.FOREIGN_WORDS)
            p.legal, p.local, p.short, p.domain = (
                f"{word} {p.label} {suffix}",
                "",
                f"{word} {p.label}",
                slug(word),
            )
            reg = self._unique("national_registration", lambda: f"{country}-{int(r() * 1e8):08d}")
            idents.append(("national_registration", reg))
        elif kind != "individual":
            idents.append(("uscc", self._unique("uscc", lambda: make_uscc(rng, p.authority, division))))
        if big:
            idents.append(("lei", self._unique("lei", lambda: make_lei(rng))))
            if kind == "financial_institution" and r() < 0.6:
                bank = "".join(pick(rng, "ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4))
                idents.append(
                    (
                        "swift_bic",
                        self._unique(
                            "swift_bic",
                            lambda: f"{bank}{country}{pick(rng, LEI_CHARS)}{pick(rng, LEI_CHARS)}",
                        ),
                    )
                )
        lifecycle = LIFECYCLES[bisect.bisect(LIFECYCLE_WEIGHTS, r() * 100)]
        if lifecycle == "prospect":
            kyc, review = (
                ("not_started", None) if r() < 0.6 else ("pending", self.as_of + timedelta(int(r() * 60)))
            )
        elif lifecycle == "former" or r() < 0.06:
            kyc, review = "expired", self.as_of - timedelta(days=1 + int(r() * 365))
        else:  # the next review falls anywhere in the next two years, so some are due within 30 days
            kyc, review = "verified", self.as_of + timedelta(days=1 + int(r() * 730))
        stamp = v.stamp(self.noon - timedelta(days=30 + int(r() * 3600), seconds=int(r() * 30000)))
        emails = self._people(pid, p, stamp, country)
        rows = self.rows
        for scheme, value in idents:
            rows["identifiers"].append((self._id("identifiers"), pid, scheme, value, stamp))
        self._coverage(pid, branch)
        # The same text, in the same order, as parties.services keeps it: names, identifiers, emails.
        search = search_text_of([p.legal, p.local, p.short, *(v for _, v in sorted(idents)), *sorted(emails)])
        rows["parties"].append(
            (
                pid,
                stamp,
                stamp,
                1,
                kind,
                p.legal,
                p.local,
                p.short,
                country,
                p.industry,
                v.money(p.revenue),
                currency if p.revenue is not None else "",
                v.money(p.assets),
                currency if p.assets is not None else "",
                p.employees,
                v.day(p.founded),
                v.day(p.born),
                p.segment,
                lifecycle,
                kyc,
                v.day(review),
                branch,
                search,
            )
        )
        rows["search_grams"] += [(self._id("search_grams"), pid, gram) for gram in sorted(cjk_pairs(search))]

    def _coverage(self, pid: int, branch: int) -> None:
        """One lead RM at the booking branch, sometimes a team member (another RM or a service agent)."""
        r, staff = self.rng.random, self.org.staff[branch]
        rms = (
            staff.get(Role.RELATIONSHIP_MANAGER)
            or self.org.staff[self.org.head_office][Role.RELATIONSHIP_MANAGER]
        )
        lead = alt = rms[int(r() * len(rms))]
        self.rows["coverage"].append((self._id("coverage"), pid, lead, "lead"))
        if r() < 0.25:
            team = [u for u in rms if u != lead] + staff.get(Role.SERVICE_AGENT, [])
            if team:
                alt = team[int(r() * len(team))]
                self.rows["coverage"].append((self._id("coverage"), pid, alt, "team"))
        self.lead.append(lead)
        self.alt.append(alt)

    def _people(self, pid: int, p: Profile, stamp: Any, country: str) -> list[str]:
        """Contacts with their roles and contact points; returns their emails for the search text."""
        r, rng, rows, money = self.rng.random, self.rng, self.rows, self.v.money
        emails: list[str] = []
        self.contact.append(self.next["contacts"] if p.people else None)
        for roles in p.people:
            cid = self._id("contacts")
            title = w.TITLES[roles[0].partition("=")[0]]
            if p.person is not None:  # a natural person is their own contact
                sur, given, full, local = p.person
                birth, title = p.born, "Owner"
                email = f"{slug(given)}{slug(sur)}{int(r() * 100)}@{pick(rng, w.MAIL_PROVIDERS)}"
            elif country != "CN":
                given, sur = pick(rng, w.WESTERN_FIRST), pick(rng, w.WESTERN_LAST)
                full, local, birth = f"{given} {sur}", "", None
                email = f"{given}.{sur}@{p.domain}.com".lower()
            else:
                sur, given, full, local = person(rng)
                birth = self.as_of - timedelta(days=int(365.25 * (30 + r() * 35))) if r() < 0.5 else None
                email = f"{slug(given)}.{slug(sur)}@{p.domain}.com.cn"
            rows["contacts"].append((cid, stamp, stamp, 1, full, local, title, self.v.day(birth), country))
            for role in roles:
                name, _, pct = role.partition("=")
                share = money(Decimal(pct)) if pct else None
                rows["contact_roles"].append((self._id("contact_roles"), cid, pid, name, share))
            phone = f"+86 1{3 + int(r() * 7)}{int(r() * 10)} {int(r() * 1e4):04d} {int(r() * 1e4):04d}"
            rows["contact_points"].append((self._id("contact_points"), cid, "email", email, "work", True))
            rows["contact_points"].append((self._id("contact_points"), cid, "phone", phone, "mobile", True))
            emails.append(email)
        return emails

    # --- after the parties ----------------------------------------------------------------------

    def relationships(self) -> Iterator[Batch]:
        first, money = self.first["parties"], self.v.money
        stamp = self.v.stamp(self.noon - timedelta(days=400))
        rows = [
            (
                self._id("relationships"),
                stamp,
                stamp,
                1,
                first + a,
                first + b,
                kind,
                money(Decimal(pct)) if pct is not None else None,
                "",
            )
            for a, b, kind, pct in self.plan.edges
        ]
        yield from batches("relationships", rows)

    def interactions(self, total: int, years: int) -> Iterator[Batch]:
        """Interactions over the last `years`, busier parties more often; kept to a tight loop for speed."""
        rng = self._rng("interactions")
        r, n, days = rng.random, len(self.lead), max(1, int(365 * years))
        start = self.as_of - timedelta(days=days)
        day_text = [str(start + timedelta(d)) for d in range(days)]
        day_base = [datetime.combine(start + timedelta(d), dtime(0), tzinfo=UTC) for d in range(days)]
        activity = list(itertools.accumulate(w.KIND_ACTIVITY[k] for k in self.plan.kinds))
        chan_weights = list(itertools.accumulate(w.CHANNEL_WEIGHTS))
        subjects = [w.CHANNEL_SUBJECTS[c].split("|") for c in w.CHANNELS]
        directions = [w.CHANNEL_DIRECTIONS[c] for c in w.CHANNELS]
        sources = [w.CHANNEL_SOURCE.get(c, "lendcrm") for c in w.CHANNELS]
        staffed = [c in w.STAFFED_CHANNELS for c in w.CHANNELS]
        lead, alt, contact, first, sqlite = (
            self.lead,
            self.alt,
            self.contact,
            self.first["parties"],
            self.v.sqlite,
        )
        next_id, done = self.next["interactions"], 0
        while done < total and n:
            k = min(INTERACTION_CHUNK, total - done)
            rows: list[Row] = []
            append = rows.append
            picks = zip(
                rng.choices(range(n), cum_weights=activity, k=k),
                rng.choices(range(len(w.CHANNELS)), cum_weights=chan_weights, k=k),
                strict=True,
            )
            for idx, ch in picks:
                day = int(r() * days)
                if staffed[ch]:  # office hours, with a member of staff and usually the main contact
                    sec, staff, who = (
                        30600 + int(r() * 32400),
                        lead[idx] if r() < 0.8 else alt[idx],
                        contact[idx],
                    )
                else:
                    sec, staff, who = int(r() * 86400), None, None
                if sqlite:
                    when: Any = f"{day_text[day]} {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
                else:
                    when = day_base[day] + timedelta(seconds=sec)
                subject, direction = subjects[ch], directions[ch]
                append(
                    (
                        next_id,
                        first + idx,
                        who,
                        w.CHANNELS[ch],
                        direction[int(r() * len(direction))],
                        when,
                        subject[int(r() * len(subject))],
                        "",
                        staff,
                        sources[ch],
                        None,
                        when,
                    )
                )
                next_id += 1
            done += k
            yield from batches("interactions", rows)
        self.next["interactions"] = next_id

    def tasks(self) -> Iterator[Batch]:
        """Follow-ups for about a third of parties: open (some overdue), done or cancelled."""
        rng = self._rng("tasks")
        r, v, first, rows = rng.random, self.v, self.first["parties"], []
        for idx, lead in enumerate(self.lead):
            x = r()
            for _ in range(0 if x < 0.65 else 1 if x < 0.92 else 2):
                kind, title = pick(rng, w.TASKS)
                created = self.noon - timedelta(days=1 + int(r() * 180), seconds=int(r() * 20000))
                y, completed = r(), None
                if y < 0.45:  # open; about a third of them overdue
                    status, due = "open", self.as_of + timedelta(days=int(r() * 60) - 20)
                else:
                    status, due = (
                        ("done", created.date() + timedelta(days=int(r() * 30)))
                        if y < 0.95
                        else ("cancelled", created.date() + timedelta(days=14))
                    )
                    completed = min(self.noon, created + timedelta(days=int(r() * 20), hours=2))
                rows.append(
                    (
                        self._id("tasks"),
                        v.stamp(created),
                        v.stamp(completed or created),
                        1,
                        first + idx,
                        kind,
                        title,
                        "",
                        lead,
                        lead,
                        v.day(due),
                        status,
                        v.stamp(completed) if completed and status == "done" else None,
                    )
                )
        yield from batches("tasks", rows)
