"""Sign in and out, the RM's day, and the header search."""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_POST

from lendcrm.core.roles import MONITORING_ROLES, Role
from lendcrm.interactions import selectors as interaction_selectors
from lendcrm.monitoring import covenant_selectors, oversight_selectors
from lendcrm.origination import authority as origination_authority
from lendcrm.origination import selectors as origination_selectors
from lendcrm.parties import selectors as party_selectors
from lendcrm.web.forms import SignInForm
from lendcrm.web.middleware import SessionIdleTimeoutMiddleware
from lendcrm.web.pages import acting_user

HOME_ROWS = 10
SEARCH_HITS = 10
SEARCH_MAX_CHARS = 100
SEARCH_MIN_CHARS = 2  # one character would match most of the book, and no index serves it
KYC_DUE_DAYS = 30


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "max_failures": settings.LENDCRM_LOGIN_MAX_FAILURES,
            "expired": self.request.session.pop(SessionIdleTimeoutMiddleware.EXPIRED, False),
        }


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET), so a link in an e-mail cannot sign anyone out."""


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """My day: what is due, what I did lately, whose KYC review is coming."""
    user = acting_user(request)
    today = timezone.localdate()
    open_tasks = interaction_selectors.my_open_tasks(viewer=user).select_related("party")
    overdue = interaction_selectors.overdue_tasks(viewer=user, today=today).select_related("party")
    kyc_due = party_selectors.kyc_reviews_due(viewer=user, until=today + timedelta(days=KYC_DUE_DAYS))
    context = {
        "section": "home",
        "today": today,
        "kyc_days": KYC_DUE_DAYS,
        "open_tasks": list(open_tasks[:HOME_ROWS]),
        "open_count": open_tasks.count(),
        "overdue_tasks": list(overdue[:HOME_ROWS]),
        "overdue_count": overdue.count(),
        "kyc_due": list(kyc_due[:HOME_ROWS]),
        "kyc_count": kyc_due.count(),
        "recent": interaction_selectors.my_recent_interactions(viewer=user, limit=HOME_ROWS),
        **_origination_day(user),
        **_oversight_day(user, today),
    }
    return render(request, "web/home.html", context)


def _oversight_day(user: Any, today: date) -> dict[str, Any]:
    """Post-loan work: the RM's parties' signals and watchlist entries, reviews assigned to me; for the
    monitoring officer also the watchlist reviews due and the covenant breaches."""
    day: dict[str, Any] = {"oversight": oversight_selectors.oversight_day(viewer=user, today=today)}
    if user.role_slugs & MONITORING_ROLES:
        breaches = covenant_selectors.breaches(viewer=user)
        day["breaches"] = list(breaches[:HOME_ROWS])
        day["breach_count"] = breaches.count()
    return day


def _origination_day(user: Any) -> dict[str, Any]:
    """The RM's overdue applications; for approvers, what awaits their decision (overdue flagged)."""
    day: dict[str, Any] = {}
    if user.has_role(Role.RELATIONSHIP_MANAGER):
        late = origination_selectors.overdue_for_owner(viewer=user).select_related("required_level")
        day["late_applications"] = list(late[:HOME_ROWS])
        day["late_count"] = late.count()
    if user.has_role(Role.CREDIT_APPROVER, Role.COMMITTEE_MEMBER):
        queue = origination_authority.decision_queue(user)
        day["awaiting"] = list(queue[:HOME_ROWS])
        day["awaiting_count"] = queue.count()
        day["awaiting_overdue"] = queue.filter(Q(overdue=True)).count()
    return day


@require_POST
def search(request: HttpRequest) -> HttpResponse:
    """Type-ahead over names in any script, identifiers and contact emails, within the user's scope.

    POST, not GET: what people type here is often a person's name, which must not land in URLs, logs
    or browser history."""
    term = request.POST.get("q", "").strip()[:SEARCH_MAX_CHARS]
    hits: list[Any] = []
    if len(term) >= SEARCH_MIN_CHARS:
        hits = list(party_selectors.party_list(viewer=acting_user(request), search=term)[: SEARCH_HITS + 1])
    return render(
        request,
        "web/_search_results.html",
        {
            "term": term,
            "too_short": 0 < len(term) < SEARCH_MIN_CHARS,
            "hits": hits[:SEARCH_HITS],
            "more": len(hits) > SEARCH_HITS,
        },
    )


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form older than its CSRF token (or sent from elsewhere): say how to recover, in the UI's words."""
    return render(request, "403_csrf.html", status=403)
