"""REST API for applications, their moves, checklist and memo, financial statements and offers: parse,
call a service or selector, render."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    OPTIONAL_IF_MATCH,
    PageNumberPagination,
    acting_user,
    expected_version,
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
from lendcrm.monitoring.services.statements import submit_statement
from lendcrm.origination import figures, selectors, services
from lendcrm.origination.models import Application, CreditMemo
from lendcrm.origination.serializers import (
    ApplicationDetailSerializer,
    ApplicationInput,
    ApplicationQuery,
    ApplicationSerializer,
    ApplicationUpdateInput,
    ChecklistInput,
    ChecklistItemSerializer,
    FinancialStatementSerializer,
    MemoInput,
    MemoPatchInput,
    MemoViewSerializer,
    OfferInput,
    OfferQuery,
    OfferSerializer,
    StatementInput,
    StatementQuery,
    TransitionInput,
    TurnaroundSerializer,
    WithdrawInput,
    list_context,
)
from lendcrm.origination.workflow import TRANSITIONS


# --- applications ---------------------------------------------------------------------------------
def _application_response(viewer: User, application_id: int, code: int = status.HTTP_200_OK) -> Response:
    application = selectors.get_application(viewer=viewer, application_id=application_id)
    data = ApplicationDetailSerializer(application, context=list_context(timezone.now())).data
    return with_etag(Response(data, status=code), application)


class ApplicationList(APIView):
    @extend_schema(
        parameters=[ApplicationQuery],
        responses={200: paginated(ApplicationSerializer), **problems(400)},
        operation_id="applications_list",
        summary="Applications you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        query = parse_query(ApplicationQuery, request.query_params)
        now = timezone.now()
        qs = selectors.application_list(
            viewer=viewer,
            status=query.get("status"),
            owner_id=query.get("owner"),
            borrower_id=query.get("borrower"),
            mine=bool(query.get("mine")),
            overdue=bool(query.get("overdue")),
            now=now,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, self)
        data = ApplicationSerializer(page, many=True, context=list_context(now)).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=ApplicationInput,
        responses={201: ApplicationDetailSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Open a draft application for a borrower",
        description="The checklist is made from the requested products; 404 when the borrower is not yours.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(ApplicationInput, request.data)
        application = services.create_application(
            actor=actor,
            borrower_id=data["borrower"],
            purpose=data["purpose"],
            facilities=[dict(f) for f in data["facilities"]],
            parties=[dict(p) for p in data["parties"]],
            opportunity_id=data["opportunity"],
        )
        return _application_response(actor, application.pk, status.HTTP_201_CREATED)


class ApplicationDetail(APIView):
    @extend_schema(
        responses={200: ApplicationDetailSerializer, **problems(404)},
        summary="An application with its parties, facilities, checklist, history, memo and offers",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _application_response(acting_user(request), pk)

    @extend_schema(
        request=ApplicationUpdateInput,
        responses={200: ApplicationDetailSerializer, **problems(400, 403, 404, 409, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change a draft (If-Match required; 409 once submitted)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        application = selectors.get_application(viewer=actor, application_id=pk)
        version = expected_version(request, application)
        changes = parse(ApplicationUpdateInput, request.data)
        for name in ("facilities", "parties"):
            if name in changes:
                changes[name] = [dict(item) for item in changes[name]]
        services.update_application(
            actor=actor, application_id=application.pk, changes=changes, expected_version=version
        )
        return _application_response(actor, application.pk)


class ApplicationTransitions(APIView):
    @extend_schema(
        responses={200: TurnaroundSerializer, **problems(404)},
        summary="Status history with the time spent in each status and its target",
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        application = selectors.get_application(viewer=viewer, application_id=pk)
        found = selectors.application_turnaround(viewer=viewer, application=application)
        payload = {
            "status": application.status,
            "current_target_hours": found.current_target_hours,
            "overdue": found.overdue,
            "hours_by_status": found.hours_by_status,
            "next_statuses": sorted(TRANSITIONS[application.status]),
            "history": found.history,
        }
        return with_etag(Response(TurnaroundSerializer(payload).data), application)

    @extend_schema(
        request=TransitionInput,
        responses={200: ApplicationDetailSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Move the application to its next status (409 when the move is not allowed now)",
        description=(
            "Decisions (approved, declined, …) are posted to the application's decisions and offers are "
            "issued and accepted through /offers/: both answer 409 here (`use_decisions`, `use_offers`). "
            "A refused move changes nothing."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        application = selectors.get_application(viewer=actor, application_id=pk)
        version = optional_version(request, application)
        data = parse(TransitionInput, request.data)
        services.transition(
            actor=actor,
            application_id=application.pk,
            to_status=data["to_status"],
            note=data["note"],
            expected_version=version,
        )
        return _application_response(actor, application.pk)


class ChecklistItemDetail(APIView):
    @extend_schema(
        request=ChecklistInput,
        responses={200: ChecklistItemSerializer, **problems(400, 403, 404, 409)},
        summary="Mark a document required, received, verified or waived (with a reason)",
    )
    def patch(self, request: Request, pk: int, item_id: int) -> Response:
        actor = acting_user(request)
        application = selectors.get_application(viewer=actor, application_id=pk)
        data = parse(ChecklistInput, request.data)
        item = services.update_checklist_item(
            actor=actor,
            application_id=application.pk,
            item_id=item_id,
            status=data["status"],
            waiver_reason=data["waiver_reason"],
        )
        return Response(ChecklistItemSerializer(item).data)


# --- the memo -------------------------------------------------------------------------------------
def _memo_response(viewer: User, application_id: int) -> Response:
    application = selectors.get_application(viewer=viewer, application_id=application_id)
    memo: CreditMemo | None = selectors.application_memo(application)
    grade = memo.risk_grade if memo is not None else None
    payload: dict[str, Any] = {
        "memo": memo,
        "ratios": figures.party_ratios(application.borrower_id),
        "expected_loss": figures.expected_losses(
            list(application.facilities.all()), grade.pd if grade else None
        ),
        "revisions": list(memo.revisions.order_by("version")) if memo is not None else [],
    }
    response = Response(MemoViewSerializer(payload).data)
    return with_etag(response, memo) if memo is not None else response


def _memo_version(request: Request, application: Application) -> int | None:
    """If-Match on the memo is optional; when sent it must match the memo's current version."""
    memo = selectors.application_memo(application)
    if memo is None:
        if request.headers.get("If-Match"):
            raise errors.PreconditionFailed()
        return None
    return optional_version(request, memo)


class ApplicationMemo(APIView):
    @extend_schema(
        responses={200: MemoViewSerializer, **problems(404)},
        summary="The credit memo with the borrower's ratios, expected loss per facility and revisions",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _memo_response(acting_user(request), pk)

    def _save(self, request: Request, pk: int, input_class: Any) -> Response:
        actor = acting_user(request)
        application = selectors.get_application(viewer=actor, application_id=pk)
        version = _memo_version(request, application)
        changes = parse(input_class, request.data)
        services.save_memo(
            actor=actor, application_id=application.pk, changes=changes, expected_version=version
        )
        return _memo_response(actor, application.pk)

    @extend_schema(
        request=MemoInput,
        responses={200: MemoViewSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Write the whole memo (credit analysts; a new revision each time)",
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, MemoInput)

    @extend_schema(
        request=MemoPatchInput,
        responses={200: MemoViewSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Change some sections or the grade (credit analysts; a new revision each time)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, MemoPatchInput)


class ApplicationMemoComplete(APIView):
    @extend_schema(
        request=None,
        responses={200: MemoViewSerializer, **problems(403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Mark the memo complete (it needs a risk grade and a recommendation)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        application = selectors.get_application(viewer=actor, application_id=pk)
        version = _memo_version(request, application)
        services.complete_memo(actor=actor, application_id=application.pk, expected_version=version)
        return _memo_response(actor, application.pk)


# --- financial statements -------------------------------------------------------------------------
class StatementList(APIView):
    @extend_schema(
        parameters=[StatementQuery],
        responses={200: paginated(FinancialStatementSerializer), **problems(400)},
        operation_id="financial_statements_list",
        summary="Financial statements of parties you may see, newest period first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(StatementQuery, request.query_params)
        qs = selectors.statement_list(
            viewer=acting_user(request), party_id=query.get("party"), kind=query.get("kind")
        )
        return paginate(request, self, qs, FinancialStatementSerializer)

    @extend_schema(
        request=StatementInput,
        responses={201: FinancialStatementSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Enter a party's statement for a period (same period and kind: replaced), test covenants",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(StatementInput, request.data)
        # Through monitoring's submission, so the borrower's covenant tests run on the new data.
        submitted = submit_statement(
            actor=actor,
            party_id=data["party"],
            period_end=data["period_end"],
            period_months=data["period_months"],
            kind=data["kind"],
            currency=data["currency"],
            lines=dict(data["lines"]),
        )
        statement = selectors.get_statement(viewer=actor, statement_id=submitted.statement.pk)
        return with_etag(
            Response(FinancialStatementSerializer(statement).data, status=status.HTTP_201_CREATED), statement
        )


class StatementDetail(APIView):
    @extend_schema(responses={200: FinancialStatementSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        statement = selectors.get_statement(viewer=acting_user(request), statement_id=pk)
        return with_etag(Response(FinancialStatementSerializer(statement).data), statement)

    @extend_schema(
        responses={204: None, **problems(403, 404, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Remove a statement entered in error",
    )
    def delete(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        statement = selectors.get_statement(viewer=actor, statement_id=pk)
        services.delete_statement(
            actor=actor, statement_id=statement.pk, expected_version=optional_version(request, statement)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- offers ---------------------------------------------------------------------------------------
def _offer_response(viewer: User, offer_id: int, code: int = status.HTTP_200_OK) -> Response:
    offer = selectors.get_offer(viewer=viewer, offer_id=offer_id)
    return with_etag(Response(OfferSerializer(offer).data, status=code), offer)


class OfferList(APIView):
    @extend_schema(
        parameters=[OfferQuery],
        responses={200: paginated(OfferSerializer), **problems(400)},
        operation_id="offers_list",
        summary="Offers on applications you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(OfferQuery, request.query_params)
        qs = selectors.offer_list(
            viewer=acting_user(request), application_id=query.get("application"), status=query.get("status")
        )
        return paginate(request, self, qs, OfferSerializer)

    @extend_schema(
        request=OfferInput,
        responses={201: OfferSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Issue the offer of an approved application",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(OfferInput, request.data)
        offer = services.issue_offer(
            actor=actor, application_id=data["application"], expires_on=data["expires_on"]
        )
        return _offer_response(actor, offer.pk, status.HTTP_201_CREATED)


class OfferDetail(APIView):
    @extend_schema(responses={200: OfferSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _offer_response(acting_user(request), pk)


class OfferAccept(APIView):
    @extend_schema(
        request=None,
        responses={200: OfferSerializer, **problems(403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Record the customer's acceptance (409 once the offer has expired)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        offer = selectors.get_offer(viewer=actor, offer_id=pk)
        services.accept_offer(
            actor=actor, offer_id=offer.pk, expected_version=optional_version(request, offer)
        )
        return _offer_response(actor, offer.pk)


class OfferWithdraw(APIView):
    @extend_schema(
        request=WithdrawInput,
        responses={200: OfferSerializer, **problems(400, 403, 404, 409, 412)},
        parameters=[OPTIONAL_IF_MATCH],
        summary="Withdraw the offer; the application ends as withdrawn",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        offer = selectors.get_offer(viewer=actor, offer_id=pk)
        version = optional_version(request, offer)
        note = parse(WithdrawInput, request.data)["note"]
        services.withdraw_offer(actor=actor, offer_id=offer.pk, note=note, expected_version=version)
        return _offer_response(actor, offer.pk)
