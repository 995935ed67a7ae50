"""API for the organisation: branches (all staff read, administrators write) and users (administrators)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core import errors, selectors, services
from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    IF_MATCH_PARAMETER,
    StrictSerializer,
    acting_user,
    expected_version,
    idempotent,
    paginate,
    paginated,
    parse,
    problems,
    with_etag,
)
from lendcrm.core.fields import Choice, Email, Flag, Pattern, Text
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role


class BranchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Branch
        fields = ["id", "code", "name", "local_name", "city", "is_head_office"]


class BranchInput(StrictSerializer):
    code = Pattern(r"^[A-Za-z0-9_-]{2,20}$")
    name = Text(max_length=200)
    local_name = Text(max_length=200, required=False, allow_blank=True, default="")
    city = Text(max_length=100, required=False, allow_blank=True, default="")
    is_head_office = Flag(required=False, default=False)


class UserSerializer(serializers.ModelSerializer):
    branch: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "branch",
            "roles",
            "is_active",
            "version",
        ]

    def get_roles(self, user: User) -> list[str]:
        return sorted(user.role_slugs)


class UserCreateInput(StrictSerializer):
    username = Pattern(r"^[\w.@+-]{2,150}$")
    roles = serializers.ListField(child=Choice(choices=Role.choices), min_length=1, max_length=8)
    branch = Text(max_length=20, required=False, allow_null=True, default=None)
    password = Text(max_length=128, required=False, write_only=True, allow_null=True, default=None)
    first_name = Text(max_length=150, required=False, allow_blank=True, default="")
    last_name = Text(max_length=150, required=False, allow_blank=True, default="")
    email = Email(required=False, allow_blank=True, default="")


class UserUpdateInput(StrictSerializer):
    roles = serializers.ListField(child=Choice(choices=Role.choices), max_length=8, required=False)
    branch = Text(max_length=20, required=False, allow_null=True)
    first_name = Text(max_length=150, required=False, allow_blank=True)
    last_name = Text(max_length=150, required=False, allow_blank=True)
    email = Email(required=False, allow_blank=True)
    is_active = Flag(required=False)


class BranchList(APIView):
    @extend_schema(
        responses={200: paginated(BranchSerializer), **problems(400, 404)}, operation_id="branches_list"
    )
    def get(self, request: Request) -> Response:
        return paginate(request, self, selectors.branches(viewer=acting_user(request)), BranchSerializer)

    @extend_schema(
        request=BranchInput,
        responses={201: BranchSerializer, **problems(400, 403, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = parse(BranchInput, request.data)
        branch = services.create_branch(actor=acting_user(request), **data)
        return Response(BranchSerializer(branch).data, status=status.HTTP_201_CREATED)


class BranchDetail(APIView):
    @extend_schema(responses={200: BranchSerializer, **problems(404)})
    def get(self, request: Request, pk: int) -> Response:
        branch = selectors.branches(viewer=acting_user(request)).filter(pk=pk).first()
        if branch is None:
            raise errors.NotFound()
        return Response(BranchSerializer(branch).data)


class UserList(APIView):
    @extend_schema(
        responses={200: paginated(UserSerializer), **problems(400, 403, 404)}, operation_id="users_list"
    )
    def get(self, request: Request) -> Response:
        return paginate(request, self, selectors.users(viewer=acting_user(request)), UserSerializer)

    @extend_schema(
        request=UserCreateInput,
        responses={201: UserSerializer, **problems(400, 403, 422)},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = parse(UserCreateInput, request.data)
        code = data.pop("branch")
        data["branch"] = selectors.branch_by_code(code) if code is not None else None
        user = services.create_user(actor=acting_user(request), **data)
        return Response(
            UserSerializer(selectors.user_with_roles(user.pk)).data, status=status.HTTP_201_CREATED
        )


class UserDetail(APIView):
    def _get(self, request: Request, pk: int) -> User:
        user = selectors.users(viewer=acting_user(request)).filter(pk=pk).first()
        if user is None:
            raise errors.NotFound()
        return user

    @extend_schema(responses={200: UserSerializer, **problems(403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        user = self._get(request, pk)
        return with_etag(Response(UserSerializer(user).data), user)

    @extend_schema(
        request=UserUpdateInput,
        responses={200: UserSerializer, **problems(400, 403, 404, 412, 428)},
        parameters=[IF_MATCH_PARAMETER],
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = self._get(request, pk)
        version = expected_version(request, user)
        data = parse(UserUpdateInput, request.data)
        if "branch" in data:
            code = data["branch"]
            data["branch"] = selectors.branch_by_code(code) if code is not None else None
        user = services.update_user(actor=acting_user(request), user=user, expected_version=version, **data)
        fresh = selectors.user_with_roles(user.pk)
        assert fresh is not None
        return with_etag(Response(UserSerializer(fresh).data), fresh)


class Me(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(selectors.user_with_roles(acting_user(request).pk)).data)
