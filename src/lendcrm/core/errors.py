"""The one error hierarchy: every refusal carries a code and an HTTP status."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal the caller can act on; rendered as RFC 9457 problem+json by the API."""

    status = 400
    code = "invalid"
    title: Any = _("The request was refused.")

    def __init__(
        self,
        detail: str | None = None,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        self.detail = str(detail) if detail is not None else str(self.title)
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        if code:
            self.code = code
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"
    title: Any = _("Some fields are not valid.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title: Any = _("Not found.")


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    title: Any = _("You are not allowed to do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title: Any = _("The request conflicts with the current state.")


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    title: Any = _("The object changed since you read it.")


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"
    title: Any = _("Send If-Match with the ETag you read.")


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    title: Any = _("The request cannot be processed.")


def field_error(field: str, message: str, *, code: str | None = None) -> ValidationFailed:
    """Shorthand for a single-field validation error."""
    return ValidationFailed(message, field_errors={field: [message]}, code=code)
