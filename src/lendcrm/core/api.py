"""The API kit every app uses: problem+json errors, pagination, throttles, strict input, ETags,
idempotent creates."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, models, transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from lendcrm.core import errors
from lendcrm.core.concurrency import etag_for
from lendcrm.core.models import IdempotencyRecord, User
from lendcrm.core.schema import REFUSALS

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _problem_response(
    status: int, title: str, detail: str, code: str, field_errors: dict[str, Any] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field_errors:
        body["errors"] = field_errors
    body.update(extra)
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["message", ...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            return {prefix or "_": [str(v) for v in detail]}
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "_": [str(detail)]}


def problems(*codes: int) -> dict[int, Any]:
    """Error responses an operation declares beyond the common ones; core.schema gives every 4xx the
    one Problem (RFC 9457) body."""
    return {code: OpenApiResponse(description=REFUSALS.get(str(code), "Refused.")) for code in codes}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every refusal as RFC 9457 problem+json; anything unexpected stays a 500."""
    if isinstance(exc, errors.DomainError):
        return _problem_response(
            exc.status, exc.title, exc.detail, exc.code, exc.field_errors or None, **exc.extra
        )
    if isinstance(exc, Http404):
        return _problem_response(404, "Not found.", "Not found.", "not_found")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return _problem_response(
            400, "Some fields are not valid.", "Some fields are not valid.", "validation_failed", fields
        )
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Token realm="api"'
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        response = _problem_response(exc.status_code, str(detail), str(detail), exc.default_code)
        for name, value in headers.items():
            response[name] = value
        return response
    return None


MAX_OFFSET = 2**53


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int | None:
        self.max_page_size = int(settings.LENDCRM_MAX_PAGE_SIZE)
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                size = int(raw)
            except ValueError as exc:
                raise errors.field_error("page_size", "page_size must be a whole number.") from exc
            if not 1 <= size <= self.max_page_size:
                raise errors.field_error(
                    "page_size", f"page_size must be between 1 and {self.max_page_size}."
                )
        return super().get_page_size(request)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param, "1")
        if not raw.isdigit() or int(raw) < 1:
            raise errors.field_error("page", "page must be a positive whole number.")
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound as exc:
            raise errors.NotFound("That page does not exist.", code="page_out_of_range") from exc


class CappedPagination(PageNumberPagination):
    """Pages whose `count` stops at `cap` (exact below it; `count_capped` says more matched): counting every
    match of a common search word costs more than the page itself. Pages past the cap still work: `next`
    comes from reading one row beyond the page, not from the count. Without a cap the count is exact."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        size = self.get_page_size(request) or 1
        raw = request.query_params.get(self.page_query_param, "1")
        if not raw.isdigit() or int(raw) < 1:
            raise errors.field_error("page", "page must be a positive whole number.")
        self.request, self.page_request, self.number = request, request, int(raw)
        offset = (self.number - 1) * size
        if offset >= MAX_OFFSET:  # no list is that long, and SQL's OFFSET is a 64-bit integer
            raise errors.NotFound("That page does not exist.", code="page_out_of_range")
        counting = queryset.order_by().values("pk")
        total = counting.count() if self.cap is None else counting[: self.cap + 1].count()
        self.capped = self.cap is not None and total > self.cap
        self.total = min(total, self.cap) if self.cap is not None else total
        rows = list(queryset[offset : offset + size + 1])
        if self.number > 1 and not rows:
            raise errors.NotFound("That page does not exist.", code="page_out_of_range")
        self.has_next = len(rows) > size
        return rows[:size]

    def get_paginated_response(self, data: Any) -> Response:
        url = self.page_request.build_absolute_uri()
        previous = None
        if self.number > 1:
            previous = (
                remove_query_param(url, self.page_query_param)
                if self.number == 2
                else replace_query_param(url, self.page_query_param, self.number - 1)
            )
        return Response(
            {
                "count": self.total,
                "count_capped": self.capped,
                "next": replace_query_param(url, self.page_query_param, self.number + 1)
                if self.has_next
                else None,
                "previous": previous,
                "results": data,
            }
        )


_PAGINATED: dict[str, type[serializers.Serializer]] = {}


def paginated(item: type[serializers.Serializer], *, capped: bool = False) -> type[serializers.Serializer]:
    """The page envelope around `item` for the OpenAPI schema (count, next, previous, results; with
    `capped`, also count_capped, see CappedPagination)."""
    name = f"Paginated{item.__name__.removesuffix('Serializer')}List"
    if name not in _PAGINATED:
        fields: dict[str, Any] = {"count": serializers.IntegerField()}
        if capped:
            fields["count"] = serializers.IntegerField(
                help_text="Matches, counted up to the cap; exact when count_capped is false."
            )
            fields["count_capped"] = serializers.BooleanField(
                help_text="True when more rows matched than count says (the count stopped at its cap)."
            )
        _PAGINATED[name] = type(
            name,
            (serializers.Serializer,),
            {
                **fields,
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": item(many=True),
            },
        )
    return _PAGINATED[name]


def paginate(
    request: Request, view: APIView, queryset: Any, serializer: type[serializers.Serializer]
) -> Response:
    """One page of `queryset`, rendered with `serializer`, in the envelope `paginated()` documents."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def paginate_capped(
    request: Request, view: APIView, queryset: Any, serializer: type[serializers.Serializer], cap: int | None
) -> Response:
    """Like `paginate`, with the count stopping at `cap` (None: exact); the envelope `paginated(...,
    capped=True)` documents."""
    paginator = CappedPagination(cap)
    page = paginator.paginate_queryset(queryset, request, view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class StrictSerializer(serializers.Serializer):
    """Input serializer that refuses fields it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- optimistic concurrency ----------------------------------------------------------------------
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of the version you read; a stale one is refused with 412.",
)
OPTIONAL_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: the ETag you read; when sent, a stale one is refused with 412.",
)
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying a create with the same key and body replays the first response.",
)


def parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validated input, or a 400 with field errors."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def parse_query(serializer_class: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """Query parameters as a plain dict, so an empty typed value (`?kind=`) is refused, not ignored."""
    return parse(serializer_class, params.dict())


def acting_user(request: Request) -> User:
    """The authenticated member of staff behind a request (permissions guarantee there is one)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user


def expected_version(request: Request, obj: models.Model) -> int:
    """The version the client says it read; 428 when missing, 412 when it is not the current one."""
    header = request.headers.get("If-Match")
    if not header:
        raise errors.PreconditionRequired()
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if etag_for(obj) not in tags and "*" not in tags:
        raise errors.PreconditionFailed(extra={"current_etag": etag_for(obj)})
    return int(obj.version)  # type: ignore[attr-defined]


def optional_version(request: Request, obj: models.Model) -> int | None:
    """For writes where If-Match is optional: checked when sent (412 when stale), None when not."""
    return expected_version(request, obj) if request.headers.get("If-Match") else None


def with_etag(response: Response, obj: models.Model) -> Response:
    response["ETag"] = etag_for(obj)
    return response


# --- idempotent creates ---------------------------------------------------------------------------
MAX_IDEMPOTENCY_KEY = 255


def idempotent(create: Callable[..., Response]) -> Callable[..., Response]:
    """Replay the first response for a repeated Idempotency-Key; 422 if the body differs."""

    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return create(view, request, *args, **kwargs)
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise errors.field_error("Idempotency-Key", "Idempotency-Key may be at most 255 characters.")
        user = acting_user(request)
        scope = f"{request.method} {request.path}"
        body_hash = hashlib.sha256(request.body or b"").hexdigest()
        found = IdempotencyRecord.objects.filter(user=user, key=key, scope=scope).first()
        if found is not None:
            return _replay(found, body_hash)
        with transaction.atomic():
            response = create(view, request, *args, **kwargs)
            if response.status_code < 500:
                try:
                    with transaction.atomic():
                        IdempotencyRecord.objects.create(
                            user=user,
                            key=key,
                            scope=scope,
                            request_hash=body_hash,
                            status_code=response.status_code,
                            response_body=response.data,
                        )
                except IntegrityError:
                    transaction.set_rollback(True)
                    found = IdempotencyRecord.objects.get(user=user, key=key, scope=scope)
                    return _replay(found, body_hash)
        return response

    wrapper.__name__ = create.__name__
    wrapper.__doc__ = create.__doc__
    return wrapper


def _replay(found: IdempotencyRecord, body_hash: str) -> Response:
    if found.request_hash != body_hash:
        raise errors.Unprocessable(
            "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
        )
    response = Response(found.response_body, status=found.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
