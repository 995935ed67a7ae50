"""A substring index on Party.search_text: FTS5 with the trigram tokenizer on SQLite, pg_trgm GIN on
PostgreSQL. Both answer `LIKE '%term%'` from the index for terms of three characters or more."""

from typing import Any

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE parties_party_fts USING fts5("
    "search_text, content='parties_party', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER parties_party_fts_ai AFTER INSERT ON parties_party BEGIN "
    "INSERT INTO parties_party_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER parties_party_fts_ad AFTER DELETE ON parties_party BEGIN "
    "INSERT INTO parties_party_fts(parties_party_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER parties_party_fts_au AFTER UPDATE OF search_text ON parties_party BEGIN "
    "INSERT INTO parties_party_fts(parties_party_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO parties_party_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO parties_party_fts(parties_party_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS parties_party_fts_au",
    "DROP TRIGGER IF EXISTS parties_party_fts_ad",
    "DROP TRIGGER IF EXISTS parties_party_fts_ai",
    "DROP TABLE IF EXISTS parties_party_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS party_search_trgm ON parties_party USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS party_search_trgm"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("parties", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
