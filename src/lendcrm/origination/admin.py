"""Back office for credit policy: approval levels, versions of the authority matrix with their limits,
delegations, the master scale, turnaround targets and document requirements. Administrators change them,
whole-book roles look; every save goes through `services.policy`, so it is validated and audited. A
matrix is edited only while it is a draft; an active or retired version is read-only (copy it into a new
draft, change that, activate it)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from lendcrm.core import errors
from lendcrm.core.access import sees_whole_book
from lendcrm.core.admin import ServiceAdmin
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    Delegation,
    DocumentRequirement,
    MatrixStatus,
    RiskGrade,
    StageTarget,
)
from lendcrm.origination.services import policy


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site admits only signed-in staff
    return request.user


def _is_admin(request: HttpRequest) -> bool:
    return (
        isinstance(request.user, User)
        and request.user.is_active
        and request.user.has_role(Role.ADMINISTRATOR)
    )


def _may_look(request: HttpRequest) -> bool:
    return _is_admin(request) or (isinstance(request.user, User) and sees_whole_book(request.user))


class PolicyAdmin(ServiceAdmin):
    """Administrators change, whole-book roles (credit, monitoring, compliance) look; nothing is deleted."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_look(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_look(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)


class ConfigurationAdmin(PolicyAdmin):
    """Reference data saved through `policy.save_configuration`; its keys are fixed once created."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return policy.FIXED_FIELDS.get(self.model, ()) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        policy.save_configuration(actor=_actor(request), obj=obj)


@admin.register(AuthorityLevel)
class AuthorityLevelAdmin(ConfigurationAdmin):
    list_display = ("rank", "slug", "name", "local_name", "is_committee", "quorum")
    fields = ("slug", "name", "local_name", "rank", "is_committee", "quorum")
    ordering = ("rank",)


@admin.register(RiskGrade)
class RiskGradeAdmin(ConfigurationAdmin):
    list_display = ("grade", "label", "local_label", "pd_low", "pd", "pd_high")
    fields = ("grade", "label", "local_label", "pd_low", "pd", "pd_high")
    ordering = ("grade",)


@admin.register(StageTarget)
class StageTargetAdmin(ConfigurationAdmin):
    list_display = ("status", "product", "target_hours")
    list_filter = ("status", "product")
    fields = ("status", "product", "target_hours")
    list_select_related = ("product",)
    ordering = ("status", "product__position")


@admin.register(DocumentRequirement)
class DocumentRequirementAdmin(ConfigurationAdmin):
    list_display = ("position", "code", "name", "local_name", "product")
    list_filter = ("product",)
    search_fields = ("code", "name", "local_name")
    fields = ("code", "name", "local_name", "product", "position")
    list_select_related = ("product",)


# --- the matrix -----------------------------------------------------------------------------------
def _is_draft(matrix: Any) -> bool:
    return isinstance(matrix, AuthorityMatrix) and matrix.status == MatrixStatus.DRAFT


class AuthorityLimitInline(admin.TabularInline):
    """A level's limit; editable only while the matrix is a draft."""

    model = AuthorityLimit
    fields = ("level", "max_group_exposure", "worst_grade", "products")
    filter_horizontal = ("products",)
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_look(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request) and _is_draft(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request) and _is_draft(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request) and _is_draft(obj)


class MatrixAddForm(forms.ModelForm):
    copy_from = forms.ModelChoiceField(
        label=_("Copy the limits of"),
        queryset=AuthorityMatrix.objects.order_by("-number"),
        required=False,
        help_text=_("Leave empty for an empty draft."),
    )

    class Meta:
        model = AuthorityMatrix
        fields = ("note",)


@admin.register(AuthorityMatrix)
class AuthorityMatrixAdmin(PolicyAdmin):
    list_display = ("number", "status", "note", "created_at", "created_by", "activated_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    readonly_fields = ("number", "status", "currency", "note", "created_at", "created_by", "activated_at")
    actions = ("activate", "copy_to_draft")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = MatrixAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("note", "copy_from") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else (AuthorityLimitInline,)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A version in force or retired is history: it is looked at, never changed."""
        return _is_admin(request) and (obj is None or _is_draft(obj))

    def save_model(self, request: HttpRequest, obj: AuthorityMatrix, form: ModelForm, change: bool) -> None:
        if change:
            return  # the version's own fields are read-only; its limits are saved with the formset
        source = form.cleaned_data.get("copy_from")
        created = policy.create_matrix_version(
            actor=_actor(request), copy_from=source.pk if source else None, note=form.cleaned_data["note"]
        )
        obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Each changed row through `policy.set_limit`, each deleted one through `policy.remove_limit`;
        the formset's new/changed/deleted lists feed the admin's change message as `formset.save()` would."""
        actor, matrix = _actor(request), form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for item in formset.deleted_forms:
            if item.instance.pk:
                policy.remove_limit(actor=actor, matrix_id=matrix.pk, level_id=item.instance.level_id)
                formset.deleted_objects.append(item.instance)
        for item in formset.forms:
            if item in formset.deleted_forms or not item.has_changed():
                continue
            data = item.cleaned_data
            limit = policy.set_limit(
                actor=actor,
                matrix_id=matrix.pk,
                level_id=data["level"].pk,
                max_group_exposure=data["max_group_exposure"],
                worst_grade=data["worst_grade"],
                product_ids=[p.pk for p in data["products"]],
            )
            if item.instance.pk:
                formset.changed_objects.append((limit, item.changed_data))
            else:
                formset.new_objects.append(limit)

    @admin.action(description=_("Activate the selected draft (retires the active version)"))
    def activate(self, request: HttpRequest, queryset: QuerySet[AuthorityMatrix]) -> None:
        chosen = list(queryset)
        if len(chosen) != 1:
            messages.error(request, _("Choose exactly one draft to activate."))
            return
        try:
            matrix = policy.activate_matrix(actor=_actor(request), matrix_id=chosen[0].pk)
        except errors.DomainError as exc:
            messages.error(request, exc.detail)
            return
        messages.success(request, _("Version %(n)s is now in force.") % {"n": matrix.number})

    @admin.action(description=_("Copy the selected version into a new draft"))
    def copy_to_draft(self, request: HttpRequest, queryset: QuerySet[AuthorityMatrix]) -> None:
        for matrix in queryset.order_by("number"):
            draft = policy.create_matrix_version(
                actor=_actor(request),
                copy_from=matrix.pk,
                note=_("Copy of version %(n)s") % {"n": matrix.number},
            )
            messages.success(request, _("Draft version %(n)s created.") % {"n": draft.number})

    def get_actions(self, request: HttpRequest) -> Any:
        return super().get_actions(request) if _is_admin(request) else {}


# --- delegations ----------------------------------------------------------------------------------
@admin.register(Delegation)
class DelegationAdmin(PolicyAdmin):
    list_display = ("user", "level", "valid_from", "expires_on", "revoked_at", "granted_by")
    list_filter = ("level", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "level", "granted_by")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    fields = ("user", "level", "valid_from", "expires_on", "revoked_at", "granted_by")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("revoked_at", "granted_by") if obj is None else self.fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user", "level", "valid_from", "expires_on") if obj is None else self.fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Granted once; ended by revoking (an action), never edited."""
        return obj is None and _is_admin(request)

    def save_model(self, request: HttpRequest, obj: Delegation, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        created = policy.grant_delegation(
            actor=_actor(request),
            user_id=data["user"].pk,
            level_id=data["level"].pk,
            valid_from=data["valid_from"],
            expires_on=data["expires_on"],
        )
        obj.pk = created.pk

    @admin.action(description=_("Revoke the selected delegations"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Delegation]) -> None:
        for delegation in queryset.filter(revoked_at__isnull=True):
            policy.revoke_delegation(actor=_actor(request), delegation_id=delegation.pk)
        messages.success(request, _("The selected delegations are revoked."))

    def get_actions(self, request: HttpRequest) -> Any:
        return super().get_actions(request) if _is_admin(request) else {}
