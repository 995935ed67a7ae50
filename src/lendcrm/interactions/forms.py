"""Workspace forms for interactions and tasks; the services hold the rules, these only parse."""

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import User
from lendcrm.interactions.models import Channel, Direction, TaskKind, TaskStatus
from lendcrm.parties.forms import VersionField
from lendcrm.web.forms import DateInput, DateTimeInput, StaffChoiceField


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND)
    occurred_at = forms.DateTimeField(label=_("When"), widget=DateTimeInput())
    subject = forms.CharField(label=_("Subject"), max_length=300)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    contact = forms.TypedChoiceField(label=_("Contact"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, contacts: list[Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"occurred_at": timezone.localtime().replace(second=0, microsecond=0)})
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["contact"]).choices = [("", "—")] + [
            (card.contact.pk, card.contact.full_name) for card in contacts
        ]


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=TaskKind.choices, initial=TaskKind.FOLLOW_UP)
    due_date = forms.DateField(label=_("Due"), widget=DateInput())
    assignee = StaffChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=None
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, assignees: list[User], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"due_date": timezone.localdate() + timedelta(days=7)})
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["assignee"])
        field.queryset = User.objects.filter(pk__in=[u.pk for u in assignees]).order_by(
            "first_name", "username"
        )


class EditTaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=TaskKind.choices)
    due_date = forms.DateField(label=_("Due"), widget=DateInput())
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (TaskStatus.OPEN, TaskStatus.OPEN.label),
            (TaskStatus.CANCELLED, TaskStatus.CANCELLED.label),
        ],
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = VersionField()


class ReassignForm(forms.Form):
    assignee = StaffChoiceField(label=_("Reassign to"), queryset=User.objects.none(), empty_label=None)
    version = VersionField()

    def __init__(self, *args: Any, colleagues: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = colleagues


class TaskFilterForm(forms.Form):
    MINE, TEAM, OVERDUE = "mine", "team", "overdue"
    view = forms.ChoiceField(
        choices=[(MINE, _("Mine")), (TEAM, _("My team's")), (OVERDUE, _("Overdue"))], required=False
    )
