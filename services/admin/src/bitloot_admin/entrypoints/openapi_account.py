"""The OpenAPI description of the admin's own account (`account`), merged into
`openapi.PATHS`: who it is and its role, and enrolling its TOTP second factor."""

from typing import Any

from bitloot_runtime.openapi import BODY_ERRORS, errors, ok

_UNAUTHORIZED = {"401": "No session that stands (`unauthorized`, `session_revoked`, …)."}

PATHS: dict[str, Any] = {
    "/admin/api/account": {
        "get": {
            "summary": "The logged-in admin: its username, its role (viewer, operator or owner) "
            "and whether it must enrol a second factor before anything else.",
            "parameters": [],
            "responses": {**ok("The admin.", {"type": "object"}), **errors(_UNAUTHORIZED)},
        }
    },
    "/admin/api/account/totp": {
        "get": {
            "summary": "The admin's TOTP enrolment: `enrolled` and its recovery codes left, or "
            "the pending `secret` (base32) and its `otpauth://` `uri` to add to an app.",
            "parameters": [],
            "responses": {**ok("The enrolment.", {"type": "object"}), **errors(_UNAUTHORIZED)},
        }
    },
    "/admin/api/account/totp/confirm": {
        "post": {
            "summary": "Confirm the pending secret with the app's current code; answers the "
            "ten single-use `recovery_codes`, shown only now.",
            "parameters": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["code"],
                            "properties": {"code": {"type": "string", "maxLength": 32}},
                        }
                    }
                },
            },
            "responses": {
                **ok("The recovery codes.", {"type": "object"}),
                **errors(
                    {
                        **_UNAUTHORIZED,
                        **BODY_ERRORS,
                        "403": "A browser's request without its CSRF token (`csrf_failed`).",
                        "409": "Nothing to confirm: enrolled already (`totp_not_pending`).",
                        "422": "A wrong code (`invalid_totp`) or an invalid body.",
                    }
                ),
            },
        }
    },
}
