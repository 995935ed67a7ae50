"""Form pieces every workspace page shares: sign-in, refusals from the services, date inputs."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from lendcrm.core.errors import DomainError

# One answer for a wrong password, an unknown user, a locked or an inactive account.
SIGN_IN_REFUSED = _(
    "Wrong username or password, or the account is locked after too many failed attempts. "
    "Check both and try again."
)


class SignInForm(AuthenticationForm):
    error_messages = {"invalid_login": SIGN_IN_REFUSED, "inactive": SIGN_IN_REFUSED}

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self) -> dict[str, object]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = authenticate(self.request, username=username, password=password)
            if self.user_cache is None or not self.user_cache.is_active:
                raise self.get_invalid_login_error()
        return self.cleaned_data


def show_refusal(form: forms.Form, exc: DomainError, aliases: Mapping[str, str] | None = None) -> None:
    """Put a service's refusal on the form: each field error beside its field, the rest on top.

    The services name fields as the API does (`annual_revenue`, `identifiers.0.value`); `aliases` maps
    those names to this form's fields."""
    aliases = aliases or {}
    placed = False
    for name, messages in exc.field_errors.items():
        target = aliases.get(name, name)
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.detail)


class StaffChoiceField(forms.ModelChoiceField):
    """A member of staff shown by name, as colleagues know them."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")
