"""The portfolio page: the book's health, exposure by a dimension, delinquency buckets, the watchlist,
open breaches and what falls due in the next 30, 60 or 90 days — all scoped to the viewer."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.monitoring import daily, portfolio
from lendcrm.monitoring.covenant_pages import times
from lendcrm.monitoring.services.covenants import DETAILS
from lendcrm.servicing.services.delinquency import delinquency_buckets
from lendcrm.web.pages import acting_user, workspace_view


@workspace_view
def portfolio_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not portfolio.may_view_portfolio(user):
        raise errors.PermissionDenied(_("Your roles do not include reading the loan book."))
    by = request.GET.get("by", "category")
    by = by if by in portfolio.DIMENSIONS else "category"
    within_text = request.GET.get("within", "30")
    within = int(within_text) if within_text in {str(w) for w in portfolio.WINDOWS} else 30
    today = timezone.localdate()
    cut = portfolio.exposure(viewer=user, by=by)
    by_category = cut if by == "category" else portfolio.exposure(viewer=user, by="category")
    buckets = delinquency_buckets(viewer=user, as_of=today)
    upcoming = portfolio.upcoming(viewer=user, as_of=today, within=within)
    for test in upcoming.breaches:  # as the covenant pages show a test
        test.detail_text = DETAILS.get(test.detail, test.detail)
        test.value_text = times(test.value, test.covenant.metric)
        test.threshold_text = times(test.threshold, test.covenant.metric)
    context = {
        "section": "portfolio",
        "today": today,
        "by": by,
        "within": within,
        "dimensions": list(portfolio.DIMENSION_LABELS.items()),
        "windows": portfolio.WINDOWS,
        "cut": cut,
        "health": portfolio.health(by_category),
        "buckets": buckets,
        "overdue": sum(b.facilities for b in buckets),
        "top": max((r.outstanding for r in cut.rows), default=0),
        "upcoming": upcoming,
        "last_run": daily.last_run(),
    }
    return render(request, "monitoring/portfolio.html", context)


urlpatterns = [path("portfolio/", portfolio_page, name="portfolio")]
