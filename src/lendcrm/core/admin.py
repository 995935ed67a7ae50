"""The back office: branches, staff and their roles, API tokens. Administrators by role may use it;
every change goes through core.services, so it is validated and audited like any other."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from lendcrm.core import errors, services
from lendcrm.core.models import ApiToken, Branch, User
from lendcrm.core.roles import Role


def _refuse(request: HttpRequest, exc: errors.DomainError) -> None:
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.field_errors.items()) or exc.detail
    messages.error(request, detail)


class ServiceAdmin(admin.ModelAdmin):
    """Saves through a service; a refusal is shown as a message and nothing is written."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except errors.DomainError as exc:
            _refuse(request, exc)
            return redirect(request.get_full_path())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history matters: deactivate, never delete


@admin.register(Branch)
class BranchAdmin(ServiceAdmin):
    list_display = ("code", "name", "local_name", "city", "is_head_office")
    search_fields = ("code", "name", "local_name", "city")
    fields = ("code", "name", "local_name", "city", "is_head_office")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "is_head_office") if obj is not None else ()  # fixed once created

    def save_model(self, request: HttpRequest, obj: Branch, form: ModelForm, change: bool) -> None:
        if change:
            services.update_branch(
                actor=request.user,  # type: ignore[arg-type]
                branch=obj,
                **{name: form.cleaned_data[name] for name in services.BRANCH_EDITABLE},
            )
            return
        created = services.create_branch(
            actor=request.user,  # type: ignore[arg-type]
            code=obj.code,
            name=obj.name,
            local_name=obj.local_name,
            city=obj.city,
            is_head_office=obj.is_head_office,
        )
        obj.pk = created.pk


class UserForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("Leave empty for an account that only uses API tokens."),
    )

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email", "branch", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = sorted(self.instance.role_slugs)
            self.fields["username"].disabled = True
            del self.fields["password"]


@admin.register(User)
class UserAdmin(ServiceAdmin):
    form = UserForm
    list_display = ("username", "first_name", "last_name", "branch", "role_list", "is_active", "locked_until")
    list_filter = ("is_active", "branch", "role_grants__role")
    search_fields = ("username", "first_name", "last_name")
    list_select_related = ("branch",)
    actions = ("unlock",)

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.unlock_user(actor=request.user, user=user)  # type: ignore[arg-type]
        messages.success(request, _("The selected accounts can sign in again."))

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("role_grants")

    @admin.display(description=_("Roles"))
    def role_list(self, obj: User) -> str:
        return ", ".join(str(Role(r).label) for r in sorted(obj.role_slugs))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        base = ["username", "first_name", "last_name", "email", "branch", "roles", "is_active"]
        return base if obj is not None else [*base[:-1], "password"]

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        actor = request.user
        if change:
            services.update_user(
                actor=actor,  # type: ignore[arg-type]
                user=obj,
                roles=data["roles"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                branch=data["branch"],
                is_active=data["is_active"],
            )
            return
        created = services.create_user(
            actor=actor,  # type: ignore[arg-type]
            username=data["username"],
            roles=data["roles"],
            branch=data["branch"],
            password=data.get("password") or None,
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
        )
        obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Roles were saved by the service with the user."""


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is shown once: issue tokens with `lendcrm token` or the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_token(actor=request.user, token=token)  # type: ignore[arg-type]
        messages.success(request, _("The selected tokens are revoked."))
