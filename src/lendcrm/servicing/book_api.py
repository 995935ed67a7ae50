"""REST API of the loan book: booking an application, facilities, their schedules and drawdowns — parse,
call a service or selector, render."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    acting_user,
    idempotent,
    paginate,
    paginated,
    parse,
    parse_query,
    problems,
    with_etag,
)
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.origination.selectors import visible_applications
from lendcrm.servicing import selectors
from lendcrm.servicing.serializers import (
    BookInput,
    DrawdownInput,
    DrawdownSerializer,
    FacilityDetailSerializer,
    FacilityQuery,
    FacilitySerializer,
    ScheduleQuery,
    ScheduleSerializer,
)
from lendcrm.servicing.services import book_application, draw


def _facility_response(viewer: User, facility_id: object, code: int = status.HTTP_200_OK) -> Response:
    facility = selectors.get_facility(viewer=viewer, facility_id=facility_id)
    return with_etag(Response(FacilityDetailSerializer(facility).data, status=code), facility)


class ApplicationBook(APIView):
    @extend_schema(
        request=BookInput,
        responses={201: FacilitySerializer(many=True), **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="applications_book",
        summary="Book an application ready to disburse: one facility per approved facility",
        description=(
            "Loan operations only. Each entry names an approved facility of the application and adds what "
            "booking decides (kind, schedule conventions, base-rate value, availability, construction end, "
            "target DSCR and CFADS); the approved terms are copied. The application moves to booked; 409 "
            "`not_ready_to_disburse` in any other status."
        ),
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        if not visible_applications(viewer=actor).filter(pk=row_id(pk)).exists():
            raise errors.NotFound()  # out of scope is 404 before the body is read
        data = parse(BookInput, request.data)
        booked = book_application(
            actor=actor,
            application_id=pk,
            start_date=data["start_date"],
            facilities=[dict(item) for item in data["facilities"]],
        )
        rows = selectors.facility_list(viewer=actor).filter(pk__in=[f.pk for f in booked]).order_by("id")
        return Response(FacilitySerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class FacilityList(APIView):
    @extend_schema(
        parameters=[FacilityQuery],
        responses={200: paginated(FacilitySerializer), **problems(400)},
        operation_id="facilities_list",
        summary="The loan book you may see, newest booking first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(FacilityQuery, request.query_params)
        qs = selectors.facility_list(
            viewer=acting_user(request),
            borrower_id=query.get("borrower"),
            status=query.get("status"),
            category=query.get("category"),
            branch_id=query.get("branch"),
            kind=query.get("kind"),
            application_id=query.get("application"),
        )
        return paginate(request, self, qs, FacilitySerializer)


class FacilityDetail(APIView):
    @extend_schema(
        responses={200: FacilityDetailSerializer, **problems(404)},
        summary="A facility with its terms, guarantors, drawdowns and what is available (ETag)",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _facility_response(acting_user(request), pk)


class FacilitySchedule(APIView):
    @extend_schema(
        parameters=[ScheduleQuery],
        responses={200: ScheduleSerializer, **problems(400, 404)},
        summary="The facility's repayment schedule (the current version, or an earlier one)",
    )
    def get(self, request: Request, pk: int) -> Response:
        query = parse_query(ScheduleQuery, request.query_params)
        facility, lines = selectors.schedule_of(
            viewer=acting_user(request), facility_id=pk, version=query.get("version")
        )
        payload = {
            "facility": facility.pk,
            "reference": facility.reference,
            "currency": facility.currency,
            "schedule_version": query.get("version") or facility.schedule_version,
            "current_version": facility.schedule_version,
            "lines": lines,
        }
        return with_etag(Response(ScheduleSerializer(payload).data), facility)


class FacilityDrawdowns(APIView):
    @extend_schema(
        responses={200: paginated(DrawdownSerializer), **problems(400, 404)},
        operation_id="facilities_drawdowns_list",
        summary="The facility's drawdowns in value-date order",
    )
    def get(self, request: Request, pk: int) -> Response:
        qs = selectors.drawdown_list(viewer=acting_user(request), facility_id=pk)
        return paginate(request, self, qs, DrawdownSerializer)

    @extend_schema(
        request=DrawdownInput,
        responses={201: DrawdownSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        operation_id="facilities_drawdowns_create",
        summary="Pay out a drawdown (loan operations)",
        description=(
            "Within the available limit (revolving: limit - outstanding; others: limit - drawn) and the "
            "availability period, with no condition precedent open; the schedule is rebuilt for the new "
            "balance (a new version keeping the instalments already due). 409 with the reason: "
            "`over_limit`, `outside_availability`, `before_last_drawdown`, `conditions_open`, "
            "`not_drawable`, `facility_not_active`, `drawdown_reference_reused`, `schedule_refused`. "
            "The same reference with the same amount and date answers the stored drawdown."
        ),
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        if not selectors.visible_facilities(viewer=actor).filter(pk=row_id(pk)).exists():
            raise errors.NotFound()  # out of scope is 404 before the body is read
        data = parse(DrawdownInput, request.data)
        drawdown = draw(
            actor=actor,
            facility_id=pk,
            amount=data["amount"],
            value_date=data["value_date"],
            reference=data["reference"],
        )
        return Response(DrawdownSerializer(drawdown).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("applications/<int:pk>/book/", ApplicationBook.as_view(), name="application-book"),
    path("facilities/", FacilityList.as_view(), name="facility-list"),
    path("facilities/<int:pk>/", FacilityDetail.as_view(), name="facility-detail"),
    path("facilities/<int:pk>/schedule/", FacilitySchedule.as_view(), name="facility-schedule"),
    path("facilities/<int:pk>/drawdowns/", FacilityDrawdowns.as_view(), name="facility-drawdowns"),
]
