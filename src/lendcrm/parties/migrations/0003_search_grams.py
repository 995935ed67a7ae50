"""CJK character pairs of each party's search text (PartySearchGram), so two-character Chinese terms are
answered from an index; existing parties are filled from their search text."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

BATCH = 5000


def fill(apps: Any, schema_editor: Any) -> None:
    from lendcrm.parties.search import cjk_pairs

    Party = apps.get_model("parties", "Party")
    Gram = apps.get_model("parties", "PartySearchGram")
    db = schema_editor.connection.alias
    last = 0
    while True:
        rows = list(
            Party.objects.using(db).filter(pk__gt=last).order_by("pk").values_list("pk", "search_text")[:BATCH]
        )
        if not rows:
            return
        Gram.objects.using(db).bulk_create(
            [Gram(party_id=pk, gram=gram) for pk, text in rows for gram in sorted(cjk_pairs(text))],
            batch_size=BATCH,
        )
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("parties", "0002_search_index")]

    operations = [
        migrations.CreateModel(
            name="PartySearchGram",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("gram", models.CharField(max_length=2)),
                (
                    "party",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_grams",
                        to="parties.party",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["gram", "party"], name="search_gram_lookup")],
                "constraints": [models.UniqueConstraint(fields=("party", "gram"), name="search_gram_once")],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
