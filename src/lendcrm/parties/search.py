"""Party search: which parties' search column contains every term, answered from an index where one serves.

Two kinds of index stand behind `Party.search_text` (see docs/architecture.md, "Reads that stay fast"):
a substring index for terms of three characters or more (FTS5 trigram on SQLite, pg_trgm GIN on
PostgreSQL; migration 0002), and `PartySearchGram`, the CJK character pairs of each party's search text,
for two-character Chinese terms (a surname and given name, "浦东") that a trigram index cannot answer.

An index only pays when a term is rare. A term that occurs in thousands of parties ("有限公司", "group")
is answered faster by walking the parties in list order and testing each one, which stops after a page:
so each indexable term is first looked up in its index up to `DENSE_MATCHES` (cheap: the lookup stops
there), and only terms below that use the index. On PostgreSQL the planner makes that choice for trigram
terms itself (its statistics see the column), so only the pairs are looked up first there. Every path
gives the same rows as a plain scan; `matching` also says how many parties an index found, so a scoped
search can choose how to apply the viewer's scope (`selectors._in_scope`).
"""

import json
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from lendcrm.parties.models import Party, PartySearchGram

# A search's total is counted up to this many parties (the API then says "count_capped").
SEARCH_COUNT_CAP = 1000
# Terms this long are answered from the substring index; two-character CJK terms from the pairs table.
INDEXED_TERM_LENGTH = 3
# Above this many matches in the whole book a term is "dense": testing parties in order finds a page sooner
# than gathering and sorting every match.
DENSE_MATCHES = 20_000
# A scoped search whose index hits are at most this many tests each hit against the scope rule; with more
# (or no index) it starts from the parties the viewer may see instead.
FEW_MATCHES = 1000
# Unified ideographs (with extension A and compatibility forms), kana and hangul: scripts written without
# spaces, where a two-character term is a whole word.
_CJK_RANGES = (
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # extensions B-G
)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def cjk_pairs(text: str) -> set[str]:
    """Every two adjacent CJK characters of `text`: what `PartySearchGram` holds for a party."""
    return {text[i : i + 2] for i in range(len(text) - 1) if is_cjk(text[i]) and is_cjk(text[i + 1])}


def _pair_term(term: str) -> bool:
    return len(term) == 2 and is_cjk(term[0]) and is_cjk(term[1])


def _rare_pair(term: str) -> tuple[QuerySet[PartySearchGram, Any] | None, int]:
    """The pairs-table lookup for a two-character CJK term (None when the pair is dense), and how many
    parties it finds (counting stops at DENSE_MATCHES); one query."""
    ids = PartySearchGram.objects.filter(gram=term).values("party_id")
    found = ids[:DENSE_MATCHES].count()
    return (None if found >= DENSE_MATCHES else ids), found


def _rare_trigram_ids(term: str) -> tuple[RawSQL | None, int]:
    """SQLite: the ids the FTS5 trigram table finds for `term`, read once (at most DENSE_MATCHES, else
    None) and handed on as one JSON array, and how many. SQLite would otherwise re-run the FTS match,
    which reads a row per candidate, in both the count and the page."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM parties_party_fts WHERE search_text LIKE %s LIMIT %s",
            [f"%{term}%", DENSE_MATCHES],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) >= DENSE_MATCHES:
        return None, len(ids)
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),)), len(ids)


def matching(qs: QuerySet[Party], terms: list[str]) -> tuple[QuerySet[Party], int | None]:
    """Parties of `qs` whose search column contains every term, through an index where a term is rare;
    and at most how many there are, when an index said so (None when no index was consulted)."""
    fewest: int | None = None
    for term in terms:
        if _pair_term(term):
            pairs, found = _rare_pair(term)
            # The pairs table holds exactly the adjacent CJK pairs of each search text: it is the answer.
            qs = qs.filter(search_text__contains=term) if pairs is None else qs.filter(pk__in=pairs)
        elif (
            connection.vendor == "sqlite"  # PostgreSQL's planner uses its trigram index by itself
            and len(term) >= INDEXED_TERM_LENGTH
            and "%" not in term
            and "_" not in term
        ):
            ids, found = _rare_trigram_ids(term)
            qs = qs.filter(search_text__contains=term)
            qs = qs if ids is None else qs.filter(pk__in=ids)
        else:
            qs = qs.filter(search_text__contains=term)
            continue
        fewest = found if fewest is None else min(fewest, found)
    return qs, fewest
