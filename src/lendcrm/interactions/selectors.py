"""Every read of interactions and tasks, scoped to the viewer."""

from lendcrm.core.models import User
from lendcrm.interactions.models import Interaction, Task, TaskStatus
from lendcrm.parties.models import Party


def recent_interactions(*, viewer: User, party: Party, limit: int = 10) -> list[Interaction]:
    """The party's latest interactions; the caller has already resolved `party` through a selector."""
    return list(
        Interaction.objects.filter(party=party)
        .select_related("staff", "contact")
        .order_by("-occurred_at", "-id")[:limit]
    )


def open_tasks_for_party(*, viewer: User, party: Party, limit: int = 50) -> list[Task]:
    return list(
        Task.objects.filter(party=party, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("due_date", "id")[:limit]
    )
