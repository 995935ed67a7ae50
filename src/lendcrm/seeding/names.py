"""Names, identifiers and the shape of the book (kinds, groups, sponsors) for the synthetic bank."""

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lendcrm.parties import identifiers as ids
from lendcrm.seeding import words as w

_NOT_SLUG = re.compile(r"[^a-z0-9]")


def pick(rng: random.Random, seq: Sequence[Any]) -> Any:
    return seq[int(rng.random() * len(seq))]


def log_uniform(rng: random.Random, low: float, high: float) -> Decimal:
    """Amounts spread over orders of magnitude, rounded to thousands."""
    return Decimal(int(low * (high / low) ** rng.random()) // 1000 * 1000)


def slug(text: str) -> str:
    return _NOT_SLUG.sub("", text.lower())


def person(rng: random.Random) -> tuple[str, str, str, str]:
    """A Chinese name: (surname pinyin, given pinyin, "Surname Given", 汉字)."""
    sur, sur_zh = pick(rng, w.SURNAMES)
    given, given_zh = pick(rng, w.GIVEN)
    if rng.random() < 0.6:
        second, second_zh = pick(rng, w.GIVEN)
        given, given_zh = given + second.lower(), given_zh + second_zh
    return sur, given, f"{sur} {given}", sur_zh + given_zh


def brand(rng: random.Random) -> tuple[str, str]:
    """A company brand: a pinyin compound (Huaxin 华鑫) or an English word (Evergreen 常青)."""
    if rng.random() < 0.2:
        return pick(rng, w.BRANDS_EN)
    (a, a_zh), (b, b_zh) = rng.sample(w.SYLLABLES, 2)
    return a.capitalize() + ("'" if b[0] in "aeo" else "") + b, a_zh + b_zh


LEI_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LEI_LOUS = ("3003", "5493", "2138", "9845", "8356")


def make_lei(rng: random.Random) -> str:
    """An ISO 17442 LEI: LOU prefix, 00, 12 entity characters, two mod-97 check digits."""
    body = pick(rng, LEI_LOUS) + "00" + "".join(pick(rng, LEI_CHARS) for _ in range(12))
    return body + ids.lei_check_digits(body)


def make_uscc(rng: random.Random, authority: str, division: str) -> str:
    """GB 32100-2015: authority and type, division, organisation code with its GB 11714 check, check."""
    org = "".join(pick(rng, ids.USCC_ALPHABET) for _ in range(8))
    body = authority + division + org + ids.organisation_code_check_char(org)
    return body + ids.uscc_check_char(body)


def make_national_id(rng: random.Random, division: str, born: date) -> str:
    """A resident ID number (GB 11643) with its ISO 7064 MOD 11-2 check character."""
    body = f"{division}{born:%Y%m%d}{int(rng.random() * 1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, weights, strict=True)) % 11]


# --- the plan: kinds, groups, sponsors -----------------------------------------------------------


@dataclass
class Plan:
    kinds: list[str]
    brands: list[tuple[str, str]]
    big: list[bool]  # large corporates, FIs, investors: an LEI, often booked at the head office
    edges: list[tuple[int, int, str, int | None]]  # (from index, to index, kind, ownership %)


def plan(rng: random.Random, n: int) -> Plan:
    """Kinds in realistic proportions, then corporate groups (up to three levels) and SPV sponsors."""
    quotas = {k: max(int(n >= len(w.KIND_SHARES)), round(share * n)) for k, share in w.KIND_SHARES}
    quotas["sme"] += n - sum(quotas.values())
    kinds = [k for k, q in quotas.items() for _ in range(q)][:n]
    rng.shuffle(kinds)
    brands = [brand(rng) for _ in range(n)]
    big = [
        k in ("financial_institution", "institutional_investor") or (k == "corporate" and rng.random() < 0.4)
        for k in kinds
    ]
    by_kind: dict[str, list[int]] = {k: [] for k, _ in w.KIND_SHARES}
    for i, k in enumerate(kinds):
        by_kind[k].append(i)
    corporates, investors = by_kind["corporate"], by_kind["institutional_investor"]
    heads = corporates[: len(corporates) // 4]  # a quarter of corporates head a group
    pool = corporates[len(heads) :] + by_kind["sme"]
    rng.shuffle(pool)
    edges: list[tuple[int, int, str, int | None]] = []

    def subsidiaries(parent: int, count: int) -> list[int]:
        # Each subsidiary comes from the pool once, so ownership forms trees: no cycles, one parent each.
        subs = [pool.pop() for _ in range(min(count, len(pool)))]
        for sub in subs:
            pct = 100 if rng.random() < 0.4 else rng.randint(51, 99)
            edges.append((parent, sub, "parent_of", pct))
            brands[sub] = brands[parent]
            if pct < 100 and investors and rng.random() < 0.3:  # investors are never owned: no cycle
                edges.append((pick(rng, investors), sub, "shareholder_of", rng.randint(1, 100 - pct)))
        return subs

    for head in heads:
        big[head] = True
        subs = subsidiaries(head, rng.randint(2, 6))
        if subs and rng.random() < 0.3:
            for mid in rng.sample(subs, min(len(subs), rng.randint(1, 2))):
                subsidiaries(mid, rng.randint(1, 3))
    sponsors = corporates + investors
    for spv in by_kind["project_company"] if sponsors else []:  # SPVs own nothing: no cycle through them
        chosen = rng.sample(sponsors, min(len(sponsors), rng.randint(1, 3)))
        shares = [100]  # the sponsors' stakes add up to 100 %
        if len(chosen) == 2:
            shares = [a := rng.randint(51, 80), 100 - a]
        elif len(chosen) == 3:
            shares = [a := rng.randint(40, 60), b := rng.randint(15, 90 - a), 100 - a - b]
        for sponsor, share in zip(chosen, shares, strict=True):
            edges.append((sponsor, spv, "sponsor_of", None))
            edges.append((sponsor, spv, "shareholder_of", share))
        brands[spv] = brands[chosen[0]]
        if rng.random() < 0.5:
            fis = by_kind["financial_institution"]
            edges.append(
                (chosen[0] if rng.random() < 0.6 or not fis else pick(rng, fis), spv, "guarantor_of", None)
            )
    return Plan(kinds, brands, big, edges)
