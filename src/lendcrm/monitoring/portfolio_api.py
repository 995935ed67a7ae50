"""REST API for the portfolio views: exposure cut by a dimension, with the book's health, in the base
currency, over the active facilities the caller may read; and what falls due in the next 30/60/90 days."""

from typing import Any

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core.api import StrictSerializer, acting_user, parse_query, problems
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.monitoring import portfolio


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, read_only=True, **kwargs
    )


class PortfolioExposureQuery(StrictSerializer):
    by = serializers.ChoiceField(
        choices=list(portfolio.DIMENSIONS), required=False, help_text=_("Default: category.")
    )


class PortfolioExposureRowSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True,
        help_text=_("The group: a branch id, segment, industry code, category or grade (null: not graded)."),
    )
    label = serializers.CharField()  # type: ignore[assignment]
    facilities = serializers.IntegerField()
    limit = _money()
    outstanding = _money()
    arrears = _money()
    share = serializers.DecimalField(
        max_digits=5, decimal_places=1, help_text=_("% of the outstanding total.")
    )


class PortfolioHealthSerializer(serializers.Serializer):
    facilities = serializers.IntegerField()
    limit = _money()
    outstanding = _money()
    arrears = _money()
    non_performing = _money(help_text=_("Outstanding classified substandard, doubtful or loss."))
    special_mention = _money()
    npl_ratio = serializers.DecimalField(max_digits=7, decimal_places=2, help_text=_("Percent."))


class PortfolioExposureSerializer(serializers.Serializer):
    by = serializers.CharField()
    currency = serializers.CharField()
    rows = PortfolioExposureRowSerializer(many=True)
    health = PortfolioHealthSerializer()


class PortfolioUpcomingQuery(StrictSerializer):
    within = serializers.ChoiceField(
        choices=list(portfolio.WINDOWS), required=False, help_text=_("Days; default 30.")
    )


class PortfolioUpcomingSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    until = serializers.DateField()
    covenant_tests_due = serializers.IntegerField()
    reviews_due = serializers.IntegerField()
    reviews_overdue = serializers.IntegerField()
    open_breaches = serializers.IntegerField()
    on_watchlist = serializers.IntegerField()


def _viewer(request: Request) -> Any:
    user = acting_user(request)
    if not portfolio.may_view_portfolio(user):
        raise errors.PermissionDenied(str(_("Your roles do not include reading the loan book.")))
    return user


class Exposure(APIView):
    @extend_schema(
        parameters=[PortfolioExposureQuery],
        responses={200: PortfolioExposureSerializer, **problems(400, 403)},
        summary="Exposure of the facilities you may read by branch, segment, industry, category or grade",
    )
    def get(self, request: Request) -> Response:
        viewer = _viewer(request)
        by = parse_query(PortfolioExposureQuery, request.query_params).get("by") or "category"
        cut = portfolio.exposure(viewer=viewer, by=by)
        health = portfolio.health(
            cut if by == "category" else portfolio.exposure(viewer=viewer, by="category")
        )
        payload = {
            "by": by,
            "currency": cut.currency,
            "rows": [{**row.__dict__, "key": None if row.key is None else str(row.key)} for row in cut.rows],
            "health": {**health.__dict__, "npl_ratio": health.npl_ratio},
        }
        return Response(PortfolioExposureSerializer(payload).data)


class Upcoming(APIView):
    @extend_schema(
        parameters=[PortfolioUpcomingQuery],
        responses={200: PortfolioUpcomingSerializer, **problems(400, 403)},
        summary="Counts of covenant tests and reviews due in the next 30, 60 or 90 days, breaches, watchlist",
    )
    def get(self, request: Request) -> Response:
        viewer = _viewer(request)
        within = parse_query(PortfolioUpcomingQuery, request.query_params).get("within") or 30
        today = timezone.localdate()
        coming = portfolio.upcoming(viewer=viewer, as_of=today, within=int(within), rows=0)
        payload = {
            "as_of": today,
            "until": coming.until,
            "covenant_tests_due": coming.test_count,
            "reviews_due": coming.review_count,
            "reviews_overdue": coming.overdue_reviews,
            "open_breaches": coming.breach_count,
            "on_watchlist": coming.watch_count,
        }
        return Response(PortfolioUpcomingSerializer(payload).data)


urlpatterns = [
    path("portfolio/exposure/", Exposure.as_view(), name="portfolio-exposure"),
    path("portfolio/upcoming/", Upcoming.as_view(), name="portfolio-upcoming"),
]
