"""REST API for covenants, their tests (attestations, waivers) and projects (cash flows, ratios): parse,
call a service or selector, render."""

from dataclasses import asdict
from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    acting_user,
    expected_version,
    idempotent,
    paginate,
    paginated,
    parse,
    parse_query,
    problems,
    with_etag,
)
from lendcrm.core.models import User
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring.covenant_serializers import (
    AttestationInput,
    CashFlowsInput,
    CashFlowsSerializer,
    CovenantInput,
    CovenantPatchInput,
    CovenantQuery,
    CovenantSerializer,
    CovenantTestSerializer,
    ProjectInput,
    ProjectPatchInput,
    ProjectQuery,
    ProjectRatiosSerializer,
    ProjectSerializer,
    RatiosQuery,
    TestQuery,
    WaiverDecisionInput,
    WaiverInput,
)
from lendcrm.monitoring.services import covenants, projects
from lendcrm.origination.serializers import PeriodRatiosSerializer


# --- covenants ------------------------------------------------------------------------------------
def _covenant_response(viewer: User, covenant_id: int, code: int = status.HTTP_200_OK) -> Response:
    covenant = sel.get_covenant(viewer=viewer, covenant_id=covenant_id)
    return with_etag(Response(CovenantSerializer(covenant).data, status=code), covenant)


class CovenantList(APIView):
    @extend_schema(
        parameters=[CovenantQuery],
        responses={200: paginated(CovenantSerializer), **problems(400)},
        operation_id="covenants_list",
        summary="Covenants of facilities you may see",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(CovenantQuery, request.query_params)
        qs = sel.covenant_list(
            viewer=acting_user(request),
            facility_id=query.get("facility"),
            party_id=query.get("party"),
            kind=query.get("kind"),
            active=query.get("active"),
        ).order_by("facility_id", "id")
        return paginate(request, self, qs, CovenantSerializer)

    @extend_schema(
        request=CovenantInput,
        responses={201: CovenantSerializer, **problems(400, 403, 404, 409, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Attach a covenant to a facility (monitoring officers); its tests run at once",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(CovenantInput, request.data)
        covenant = covenants.add_covenant(
            actor=actor,
            facility_id=data.pop("facility"),
            **data,
        )
        return _covenant_response(actor, covenant.pk, status.HTTP_201_CREATED)


class CovenantDetail(APIView):
    @extend_schema(responses={200: CovenantSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _covenant_response(acting_user(request), pk)

    @extend_schema(
        request=CovenantPatchInput,
        responses={200: CovenantSerializer, **problems(400, 403, 404, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Stop testing a covenant, or test it again (is_active)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        covenant = sel.get_covenant(viewer=actor, covenant_id=pk)
        version = expected_version(request, covenant)
        data = parse(CovenantPatchInput, request.data)
        covenants.set_covenant_active(
            actor=actor, covenant_id=covenant.pk, is_active=data["is_active"], expected_version=version
        )
        return _covenant_response(actor, covenant.pk)


class CovenantTests(APIView):
    @extend_schema(
        responses={200: paginated(CovenantTestSerializer), **problems(400, 404)},
        operation_id="covenants_tests_list",
        summary="A covenant's tests, newest period first",
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        covenant = sel.get_covenant(viewer=viewer, covenant_id=pk)
        qs = sel.covenant_test_list(viewer=viewer, covenant_id=covenant.pk)
        return paginate(request, self, qs, CovenantTestSerializer)


class CovenantAttestations(APIView):
    @extend_schema(
        request=AttestationInput,
        responses={200: CovenantTestSerializer, **problems(400, 403, 404, 409)},
        summary="Record a document received or an undertaking complied with (or not) for one period",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        covenant = sel.get_covenant(viewer=actor, covenant_id=pk)
        data = parse(AttestationInput, request.data)
        test = covenants.attest(
            actor=actor,
            covenant_id=covenant.pk,
            period_end=data["period_end"],
            complied=data["complied"],
            attested_on=data["attested_on"],
        )
        return Response(CovenantTestSerializer(sel.get_covenant_test(viewer=actor, test_id=test.pk)).data)


# --- tests ----------------------------------------------------------------------------------------
class TestList(APIView):
    @extend_schema(
        parameters=[TestQuery],
        responses={200: paginated(CovenantTestSerializer), **problems(400)},
        operation_id="covenant_tests_list",
        summary="Covenant tests you may see (e.g. status=breach), newest period first",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(TestQuery, request.query_params)
        qs = sel.covenant_test_list(
            viewer=acting_user(request),
            facility_id=query.get("facility"),
            party_id=query.get("party"),
            status=query.get("status"),
        )
        return paginate(request, self, qs, CovenantTestSerializer)


class TestDetail(APIView):
    @extend_schema(responses={200: CovenantTestSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        test = sel.get_covenant_test(viewer=acting_user(request), test_id=pk)
        return Response(CovenantTestSerializer(test).data)


class TestWaiver(APIView):
    @extend_schema(
        request=WaiverInput,
        responses={200: CovenantTestSerializer, **problems(400, 403, 404, 409)},
        summary="Ask for a breach to be waived (someone else decides)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        test = sel.get_covenant_test(viewer=actor, test_id=pk)  # 404 before the body is read
        data = parse(WaiverInput, request.data)
        test = covenants.request_waiver(actor=actor, test_id=test.pk, reason=data["reason"])
        return Response(CovenantTestSerializer(sel.get_covenant_test(viewer=actor, test_id=test.pk)).data)


class TestWaiverDecision(APIView):
    @extend_schema(
        request=WaiverDecisionInput,
        responses={200: CovenantTestSerializer, **problems(400, 403, 404, 409)},
        summary="Approve or refuse a waiver (an approver other than the requester)",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        test = sel.get_covenant_test(viewer=actor, test_id=pk)
        data = parse(WaiverDecisionInput, request.data)
        test = covenants.decide_waiver(
            actor=actor, test_id=test.pk, approve=data["approve"], note=data["note"]
        )
        return Response(CovenantTestSerializer(sel.get_covenant_test(viewer=actor, test_id=test.pk)).data)


# --- statements -----------------------------------------------------------------------------------
class StatementRatios(APIView):
    @extend_schema(
        responses={200: PeriodRatiosSerializer, **problems(404)},
        summary="A statement's ratios (growth against the party's previous period of the same kind)",
    )
    def get(self, request: Request, pk: int) -> Response:
        found = sel.statement_ratios(viewer=acting_user(request), statement_id=pk)
        return Response(PeriodRatiosSerializer(found).data)


# --- projects -------------------------------------------------------------------------------------
def _project_response(viewer: User, project_id: int, code: int = status.HTTP_200_OK) -> Response:
    project = sel.get_project(viewer=viewer, project_id=project_id)
    return with_etag(Response(ProjectSerializer(project).data, status=code), project)


class ProjectList(APIView):
    @extend_schema(
        parameters=[ProjectQuery],
        responses={200: paginated(ProjectSerializer), **problems(400)},
        operation_id="projects_list",
        summary="Projects of project companies you may see",
    )
    def get(self, request: Request) -> Response:
        query = parse_query(ProjectQuery, request.query_params)
        qs = sel.project_list(
            viewer=acting_user(request), party_id=query.get("party"), facility_id=query.get("facility")
        )
        return paginate(request, self, qs, ProjectSerializer)

    @extend_schema(
        request=ProjectInput,
        responses={201: ProjectSerializer, **problems(400, 403, 404, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Create a project (monitoring officers); thresholds and rate default from the facility",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(ProjectInput, request.data)
        extra: dict[str, Any] = {}
        if "dsra_balance" in data:
            extra["dsra_balance"] = data["dsra_balance"]
        project = projects.create_project(
            actor=actor,
            party_id=data["party"],
            facility_id=data["facility"],
            name=data["name"],
            currency=data["currency"],
            discount_rate_pct=data["discount_rate_pct"],
            lockup_dscr=data["lockup_dscr"],
            default_dscr=data["default_dscr"],
            llcr_includes_dsra=data["llcr_includes_dsra"],
            **extra,
        )
        return _project_response(actor, project.pk, status.HTTP_201_CREATED)


class ProjectDetail(APIView):
    @extend_schema(responses={200: ProjectSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        return _project_response(acting_user(request), pk)

    @extend_schema(
        request=ProjectPatchInput,
        responses={200: ProjectSerializer, **problems(400, 403, 404, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Change a project's name, discount rate, thresholds or DSRA",
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        project = sel.get_project(viewer=actor, project_id=pk)
        version = expected_version(request, project)
        data = parse(ProjectPatchInput, request.data)
        projects.update_project(actor=actor, project_id=project.pk, changes=data, expected_version=version)
        return _project_response(actor, project.pk)


def _cash_flows_response(viewer: User, project_id: int) -> Response:
    project = sel.get_project(viewer=viewer, project_id=project_id)
    data = {"project": project.pk, "version": project.version, "rows": sel.cash_flows(project)}
    return with_etag(Response(CashFlowsSerializer(data).data), project)


class ProjectCashFlows(APIView):
    @extend_schema(
        responses={200: CashFlowsSerializer, **problems(404)},
        summary="The project's cash-flow projection (ETag: the project's version)",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _cash_flows_response(acting_user(request), pk)

    @extend_schema(
        request=CashFlowsInput,
        responses={200: CashFlowsSerializer, **problems(400, 403, 404, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
        summary="Replace the projection; CFADS is computed, debt service comes from the facility's schedule",
    )
    def put(self, request: Request, pk: int) -> Response:
        actor = acting_user(request)
        project = sel.get_project(viewer=actor, project_id=pk)
        version = expected_version(request, project)
        data = parse(CashFlowsInput, request.data)
        projects.save_cash_flows(
            actor=actor, project_id=project.pk, rows=[dict(r) for r in data["rows"]], expected_version=version
        )
        return _cash_flows_response(actor, project.pk)


class ProjectRatiosView(APIView):
    @extend_schema(
        parameters=[RatiosQuery],
        responses={200: ProjectRatiosSerializer, **problems(400, 404)},
        summary="DSCR per period, min/avg DSCR, LLCR and PLCR at a date, lock-up and default tests",
    )
    def get(self, request: Request, pk: int) -> Response:
        project = sel.get_project(viewer=acting_user(request), project_id=pk)
        query = parse_query(RatiosQuery, request.query_params)
        ratios = sel.project_ratios_at(project, query.get("at") or timezone.localdate())
        data = {**asdict(ratios), "lockup_dscr": project.lockup_dscr, "default_dscr": project.default_dscr}
        return Response(ProjectRatiosSerializer(data).data)


urlpatterns = [
    path("covenants/", CovenantList.as_view(), name="covenant-list"),
    path("covenants/<int:pk>/", CovenantDetail.as_view(), name="covenant-detail"),
    path("covenants/<int:pk>/tests/", CovenantTests.as_view(), name="covenant-tests"),
    path("covenants/<int:pk>/attestations/", CovenantAttestations.as_view(), name="covenant-attestations"),
    path("covenant-tests/", TestList.as_view(), name="covenant-test-list"),
    path("covenant-tests/<int:pk>/", TestDetail.as_view(), name="covenant-test-detail"),
    path("covenant-tests/<int:pk>/waiver/", TestWaiver.as_view(), name="covenant-test-waiver"),
    path(
        "covenant-tests/<int:pk>/waiver/decision/",
        TestWaiverDecision.as_view(),
        name="covenant-test-waiver-decision",
    ),
    path("financial-statements/<int:pk>/ratios/", StatementRatios.as_view(), name="statement-ratios"),
    path("projects/", ProjectList.as_view(), name="project-list"),
    path("projects/<int:pk>/", ProjectDetail.as_view(), name="project-detail"),
    path("projects/<int:pk>/cash-flows/", ProjectCashFlows.as_view(), name="project-cash-flows"),
    path("projects/<int:pk>/ratios/", ProjectRatiosView.as_view(), name="project-ratios"),
]
