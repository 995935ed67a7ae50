"""Plain builders shared by the interaction tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from lendcrm.parties.models import Party


def item(party: Party | object, n: int, **overrides: Any) -> dict[str, Any]:
    """One batch item from a partner platform."""
    party_id = party.pk if isinstance(party, Party) else party
    base: dict[str, Any] = {
        "party": party_id,
        "channel": "partner_platform",
        "direction": "inbound",
        "occurred_at": datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=n),
        "subject": f"Payment notice {n}",
        "source_system": "partnerpay",
        "external_id": f"pp-{n}",
    }
    base.update(overrides)
    return base
