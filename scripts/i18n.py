"""Keep the translation catalogues in step with the code: `extract` collects every translatable string
(Django's makemessages, which needs GNU gettext), `compile` writes the .mo files with polib, so a
machine without gettext can still build them. `make messages` runs both."""

import subprocess
import sys
from pathlib import Path

import polib

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "lendcrm"
LOCALES = ("zh_Hans",)


def extract() -> None:
    for locale in LOCALES:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "django",
                "makemessages",
                "--settings=lendcrm.settings",
                "-l",
                locale,
                "--ignore=*/migrations/*",
                "--no-obsolete",
            ],
            cwd=PACKAGE,
            check=True,
        )


def compile_catalogues() -> None:
    for po_path in sorted((PACKAGE / "locale").glob("*/LC_MESSAGES/*.po")):
        polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
        print(f"compiled {po_path.relative_to(PACKAGE)}")


if __name__ == "__main__":
    commands = {"extract": extract, "compile": compile_catalogues}
    for name in sys.argv[1:] or ["extract", "compile"]:
        commands[name]()
