"""OpenAPI description of lendcrm's token authentication (registered when the app loads)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "lendcrm.core.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Personal API token: `Token <key>` (create with `lendcrm token create USERNAME`).",
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` maps field names to messages.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "detail", "code"],
}
# What each refusal means; the common ones below any operation can give.
REFUSALS = {
    "409": "Conflicts with the current state.",
    "412": "The object changed since you read it (stale If-Match).",
    "422": "Idempotency-Key reused with another body.",
    "428": "If-Match is required.",
}
# Refusals any operation can give: bad input, authentication, scope, size, media type, rate limits.
COMMON_REFUSALS = {
    "400": "The request is malformed or a field is not valid.",
    "401": "Not authenticated.",
    "403": "Not allowed.",
    "404": "Not found, or not visible to you.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "429": "Too many requests; see Retry-After.",
}
REFUSALS.update(COMMON_REFUSALS)


def problem_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Document every refusal as application/problem+json with one shared schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_REFUSALS.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if int(status) >= 400:
                    response["content"] = {"application/problem+json": {"schema": ref}}
    return result
