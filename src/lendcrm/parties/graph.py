"""The relationship graph in SQL: closures computed by one recursive query that runs on SQLite and PostgreSQL.

Each closure is a `WITH RECURSIVE ... UNION` over party ids. `UNION` (not `UNION ALL`) drops an id already
found, so the recursion stops by itself once no new party turns up: the work is linear in the edges
visited, cycles cannot loop, and nothing is cut off silently at an arbitrary depth. The SQL is used as a
subquery (`pk__in=closure(...)`), so a caller gets parties or edges of a whole group in one query.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

from lendcrm.parties.models import OWNERSHIP_KINDS, Party, Relationship, RelationshipKind

# Walking "down" a group: parent -> subsidiary (parent_of), group head -> member (member_of_group).
GROUP_DOWN = ({RelationshipKind.PARENT_OF}, {RelationshipKind.MEMBER_OF_GROUP})
# Walking "up" a group: subsidiary -> parent, member -> group head.
GROUP_UP = ({RelationshipKind.MEMBER_OF_GROUP}, {RelationshipKind.PARENT_OF})
# Owner -> owned, over parent and shareholder edges.
OWNERSHIP_DOWN = (set(OWNERSHIP_KINDS), set[str]())

# Key of the PostgreSQL advisory lock that serialises writes to the relationship graph.
GRAPH_LOCK_KEY = 0x6C63_7270  # "lcrp"


def _placeholders(values: list[str]) -> str:
    return ", ".join(["%s"] * len(values))


def closure(start_id: int, *, forward: Iterable[str] = (), backward: Iterable[str] = ()) -> RawSQL:
    """SQL for the ids reachable from `start_id` (itself included): along `forward` kinds from
    `from_party` to `to_party`, and along `backward` kinds from `to_party` to `from_party`."""
    fwd, bwd = sorted(forward), sorted(backward)
    if not fwd and not bwd:
        raise ValueError("A closure needs at least one relationship kind.")
    conditions: list[str] = []
    params: list[object] = [int(start_id)]
    if fwd:
        conditions.append(f"(r.from_party_id = reach.id AND r.kind IN ({_placeholders(fwd)}))")
        params.extend(fwd)
    if bwd:
        conditions.append(f"(r.to_party_id = reach.id AND r.kind IN ({_placeholders(bwd)}))")
        params.extend(bwd)
    table = connection.ops.quote_name(Relationship._meta.db_table)
    # Only the quoted table name and "%s" placeholders are interpolated; every value is a parameter.
    sql = (
        "WITH RECURSIVE reach(id) AS ("  # noqa: S608
        " SELECT CAST(%s AS BIGINT)"
        " UNION"
        " SELECT CASE WHEN r.from_party_id = reach.id THEN r.to_party_id ELSE r.from_party_id END"
        f" FROM {table} r JOIN reach ON {' OR '.join(conditions)}"
        ") SELECT id FROM reach"
    )
    return RawSQL(sql, params)  # noqa: S611


def connecting(start_id: int, kinds: Iterable[str]) -> RawSQL:
    """SQL for the ids connected to `start_id` through `kinds` edges in either direction."""
    kind_list = list(kinds)
    return closure(start_id, forward=kind_list, backward=kind_list)


def reaches(
    start_id: int, target_id: int, *, forward: Iterable[str] = (), backward: Iterable[str] = ()
) -> bool:
    """Whether `target_id` is reachable from `start_id` (one query)."""
    return Party.objects.filter(
        pk=target_id, pk__in=closure(start_id, forward=forward, backward=backward)
    ).exists()


def lock_graph() -> None:
    """Serialise relationship writes, so two concurrent inserts cannot close a cycle or pass 100 % together.
    SQLite needs nothing: its IMMEDIATE transactions already take the one write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRAPH_LOCK_KEY])
