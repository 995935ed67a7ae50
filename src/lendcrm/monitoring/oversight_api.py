"""REST API for reviews and visits, early-warning signals and the watchlist: parse, call a service or
selector, render."""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    OPTIONAL_IF_MATCH,
    PageNumberPagination,
    acting_user,
    idempotent,
    optional_version,
    paginate,
    paginated,
    parse,
    parse_query,
    problems,
    with_etag,
)
from lendcrm.core.models import User
from lendcrm.monitoring import oversight_selectors as selectors
from lendcrm.monitoring.oversight_serializers import (
    DismissInput,
    ExitDecisionInput,
    ExitRequestInput,
    ReviewCompleteInput,
    ReviewQuery,
    ReviewSerializer,
    SignalQuery,
    SignalSerializer,
    WatchInput,
    WatchlistEntrySerializer,
    WatchPlanInput,
    WatchQuery,
)
from lendcrm.monitoring.services import reviews, signals, watchlist


# --- reviews ------------------------------------------------------------------------------------------
def _review_response(viewer: User, review_id: int) -> Response:
    review = selectors.get_review(viewer=viewer, review_id=review_id)
    data = ReviewSerializer(review, context={"today": timezone.localdate()}).data
    return with_etag(Response(data), review)


class ReviewList(APIView):
    @extend_schema(
        parameters=[ReviewQuery],
        responses={200: paginated(ReviewSerializer), **problems(400)},
        summary="Reviews and site visits you may see, soonest due first",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        query = parse_query(ReviewQuery, request.query_params)
        today = timezone.localdate()
        qs = selectors.review_list(
            viewer=viewer,
            party_id=query.get("party"),
            status=query.get("status"),
            kind=query.get("kind"),
            assigned_to_id=query.get("assigned_to"),
            overdue_on=today if query.get("overdue") else None,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, self)
        return paginator.get_paginated_response(
            ReviewSerializer(page, many=True, context={"today": today}).data
        )


class ReviewDetail(APIView):
    @extend_schema(
        responses={200: ReviewSerializer, **problems(404)}, summary="A review with its visit report"
    )
    def get(self, request: Request, pk: int) -> Response:
        return _review_response(acting_user(request), pk)


class ReviewComplete(APIView):
    @extend_schema(
        request=ReviewCompleteInput,
        responses={200: ReviewSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Record the visit report; the next review is scheduled from the visit date",
        description="The person assigned or a monitoring officer; 409 when the review is not scheduled.",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        review = selectors.get_review(viewer=actor, review_id=pk)
        version = optional_version(request, review)
        data = parse(ReviewCompleteInput, request.data)
        reviews.complete_review(actor=actor, review_id=review.pk, expected_version=version, **data)
        return _review_response(actor, review.pk)


# --- signals ------------------------------------------------------------------------------------------
class SignalList(APIView):
    @extend_schema(
        parameters=[SignalQuery],
        responses={200: paginated(SignalSerializer), **problems(400)},
        summary="Early-warning signals you may see, worst and newest first",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        query = parse_query(SignalQuery, request.query_params)
        qs = selectors.signal_list(
            viewer=viewer,
            party_id=query.get("party"),
            facility_id=query.get("facility"),
            status=query.get("status"),
            rule=query.get("rule"),
            min_severity=query.get("min_severity"),
        )
        return paginate(request, self, qs, SignalSerializer)


class SignalDetail(APIView):
    @extend_schema(responses={200: SignalSerializer, **problems(404)}, summary="One early-warning signal")
    def get(self, request: Request, pk: int) -> Response:
        signal = selectors.get_signal(viewer=acting_user(request), signal_id=pk)
        return Response(SignalSerializer(signal).data)


class SignalDismiss(APIView):
    @extend_schema(
        request=DismissInput,
        responses={200: SignalSerializer, **problems(400, 403, 404, 409)},
        summary="Dismiss an open signal with the reason (monitoring officers)",
        description="The same condition is not raised again unless it gets worse.",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        signal = selectors.get_signal(viewer=actor, signal_id=pk)
        data = parse(DismissInput, request.data)
        signals.dismiss_signal(actor=actor, signal_id=signal.pk, reason=data["reason"])
        return Response(SignalSerializer(selectors.get_signal(viewer=actor, signal_id=signal.pk)).data)


# --- watchlist ----------------------------------------------------------------------------------------
def _watch_response(viewer: User, entry_id: int, code: int = status.HTTP_200_OK) -> Response:
    entry = selectors.get_watch_entry(viewer=viewer, entry_id=entry_id)
    return with_etag(Response(WatchlistEntrySerializer(entry).data, status=code), entry)


class WatchList(APIView):
    @extend_schema(
        parameters=[WatchQuery],
        responses={200: paginated(WatchlistEntrySerializer), **problems(400)},
        summary="Watchlist entries you may see, soonest review first",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        query = parse_query(WatchQuery, request.query_params)
        qs = selectors.watchlist(
            viewer=viewer,
            party_id=query.get("party"),
            status=query.get("status"),
            source=query.get("source"),
            owner_id=query.get("owner"),
            live_only=bool(query.get("live")),
        )
        return paginate(request, self, qs, WatchlistEntrySerializer)

    @extend_schema(
        request=WatchInput,
        responses={201: WatchlistEntrySerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Put a party on watch by hand (monitoring officers)",
        description="409 when the party is already on the watchlist; 404 when the party is not yours.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(WatchInput, request.data)
        entry = watchlist.add_to_watchlist(
            actor=actor,
            party_id=data["party"],
            reason=data["reason"],
            action_plan=data["action_plan"],
            owner_id=data["owner"],
            review_date=data["review_date"],
        )
        return _watch_response(actor, entry.pk, status.HTTP_201_CREATED)


class WatchDetail(APIView):
    @extend_schema(responses={200: WatchlistEntrySerializer, **problems(404)}, summary="One watchlist entry")
    def get(self, request: Request, pk: int) -> Response:
        return _watch_response(acting_user(request), pk)

    @extend_schema(
        request=WatchPlanInput,
        responses={200: WatchlistEntrySerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Change the action plan, owner or review date (the owner or a monitoring officer)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        entry = selectors.get_watch_entry(viewer=actor, entry_id=pk)
        version = optional_version(request, entry)
        data = parse(WatchPlanInput, request.data)
        watchlist.update_watch_plan(
            actor=actor,
            entry_id=entry.pk,
            action_plan=data["action_plan"],
            owner_id=data["owner"],
            review_date=data["review_date"],
            expected_version=version,
        )
        return _watch_response(actor, entry.pk)


class WatchExit(APIView):
    @extend_schema(
        request=ExitRequestInput,
        responses={200: WatchlistEntrySerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Ask for the party to leave the watchlist (the owner or a monitoring officer)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        entry = selectors.get_watch_entry(viewer=actor, entry_id=pk)
        version = optional_version(request, entry)
        data = parse(ExitRequestInput, request.data)
        watchlist.request_exit(
            actor=actor, entry_id=entry.pk, reason=data["reason"], expected_version=version
        )
        return _watch_response(actor, entry.pk)


class WatchExitDecision(APIView):
    @extend_schema(
        request=ExitDecisionInput,
        responses={200: WatchlistEntrySerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Approve or refuse leaving the watchlist (an approver other than the requester)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        entry = selectors.get_watch_entry(viewer=actor, entry_id=pk)
        version = optional_version(request, entry)
        data = parse(ExitDecisionInput, request.data)
        watchlist.decide_exit(
            actor=actor,
            entry_id=entry.pk,
            approve=data["approve"],
            note=data["note"],
            expected_version=version,
        )
        return _watch_response(actor, entry.pk)


urlpatterns = [
    path("reviews/", ReviewList.as_view(), name="review-list"),
    path("reviews/<int:pk>/", ReviewDetail.as_view(), name="review-detail"),
    path("reviews/<int:pk>/complete/", ReviewComplete.as_view(), name="review-complete"),
    path("signals/", SignalList.as_view(), name="signal-list"),
    path("signals/<int:pk>/", SignalDetail.as_view(), name="signal-detail"),
    path("signals/<int:pk>/dismiss/", SignalDismiss.as_view(), name="signal-dismiss"),
    path("watchlist/", WatchList.as_view(), name="watchlist"),
    path("watchlist/<int:pk>/", WatchDetail.as_view(), name="watch-detail"),
    path("watchlist/<int:pk>/exit/", WatchExit.as_view(), name="watch-exit"),
    path("watchlist/<int:pk>/exit/decision/", WatchExitDecision.as_view(), name="watch-exit-decision"),
]
