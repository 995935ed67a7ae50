"""Back office for post-loan policy: the review policies (how often a segment and band of grades is
reviewed and visited). Administrators change them, whole-book roles look; every save goes through
`services.reviews.save_review_policy`, so it is validated and audited; nothing is deleted."""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from lendcrm.core.models import User
from lendcrm.monitoring.oversight_models import ReviewPolicy
from lendcrm.monitoring.services.reviews import save_review_policy
from lendcrm.origination.admin import PolicyAdmin


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(PolicyAdmin):
    list_display = ("kind", "segment", "min_grade", "max_grade", "interval_months")
    list_filter = ("kind", "segment")
    fields = ("kind", "segment", "min_grade", "max_grade", "interval_months")
    ordering = ("kind", "segment", "min_grade")

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        assert isinstance(request.user, User)  # the admin site admits only signed-in staff
        save_review_policy(actor=request.user, policy=obj)
