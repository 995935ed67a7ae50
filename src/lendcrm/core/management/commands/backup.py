"""`lendcrm backup PATH`: a consistent copy of the live SQLite database through SQLite's online backup API."""

import os
import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = (
        "Copy the live SQLite database to PATH while the application keeps running (SQLite's online backup "
        "API gives a consistent snapshot). For PostgreSQL use pg_dump."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
        parser.add_argument("--pages", type=int, default=1024, help="pages copied per step (default 1024)")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite":
            raise CommandError(
                f"The database is {connection.vendor}, not SQLite: back it up with pg_dump, "
                "e.g. pg_dump --format=custom --file=lendcrm.dump <database>."
            )
        if connection.in_atomic_block:
            raise CommandError("Run the backup outside a transaction, so it copies committed data only.")
        target: Path = options["path"]
        live = Path(str(connection.settings_dict["NAME"]))
        if target.exists() and target.resolve() == live.resolve():
            raise CommandError("PATH is the live database itself.")
        if target.exists() and not options["force"]:
            raise CommandError(f"{target} already exists; pass --force to overwrite it.")
        if not target.parent.is_dir():
            raise CommandError(f"The directory {target.parent} does not exist.")
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        connection.ensure_connection()
        source: sqlite3.Connection = connection.connection
        self.stdout.write(f"Backing up {live} to {target}…")
        shown = [-1]

        def progress(status: int, remaining: int, total: int) -> None:
            percent = 100 * (total - remaining) // max(total, 1)
            if percent // 10 > shown[0]:
                shown[0] = percent // 10
                self.stdout.write(f"  {total - remaining:,} of {total:,} pages ({percent} %)")

        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=max(1, options["pages"]), progress=progress)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if check != "ok":
            partial.unlink(missing_ok=True)
            raise CommandError(f"The copy failed its integrity check: {check}")
        os.replace(partial, target)
        self.stdout.write(
            self.style.SUCCESS(f"Backup written to {target} ({target.stat().st_size:,} bytes).")
        )
