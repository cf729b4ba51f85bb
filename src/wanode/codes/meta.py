"""Meta Cloud API error codes (reference/cloud-api.md §8)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetaCode:
    code: int
    title: str
    http_status: int
    retryable: bool = False


_ROWS: tuple[MetaCode, ...] = (
    MetaCode(0, "AuthException", 401),
    MetaCode(1, "API Unknown", 400, retryable=True),
    MetaCode(2, "API Service", 503, retryable=True),
    MetaCode(3, "API Method", 500),
    MetaCode(4, "API Too Many Calls", 429, retryable=True),
    MetaCode(10, "Permission Denied", 403),
    MetaCode(33, "Parameter value is not valid", 400),
    MetaCode(100, "Invalid parameter", 400),
    MetaCode(190, "Access token has expired", 401),
    MetaCode(200, "API Permission", 403),
    MetaCode(368, "Temporarily blocked for policies violations", 403),
    MetaCode(803, "Phone number not found", 404),
    MetaCode(80007, "Rate limit issues", 400, retryable=True),
    MetaCode(130429, "Rate limit hit", 400, retryable=True),
    MetaCode(130472, "User's number is part of an experiment", 400),
    MetaCode(
        130497, "Business Account is restricted from messaging to users in certain countries", 403
    ),
    MetaCode(131000, "Something went wrong", 500, retryable=True),
    MetaCode(131005, "Access denied", 403),
    MetaCode(131008, "Required parameter is missing", 400),
    MetaCode(131009, "Parameter value is not valid", 400),
    MetaCode(131016, "Service unavailable", 500, retryable=True),
    MetaCode(131021, "Recipient cannot be sender", 400),
    MetaCode(131026, "Message Undeliverable", 400),
    MetaCode(131030, "Recipient phone number not in allowed list", 400),
    MetaCode(131031, "Account has been locked", 403),
    MetaCode(131037, "Display name must be approved before sending", 400),
    MetaCode(131042, "Business eligibility payment issue", 400),
    MetaCode(131045, "Incorrect certificate", 500),
    MetaCode(131047, "Re-engagement message", 400),
    MetaCode(131048, "Spam rate limit hit", 400),
    MetaCode(
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement",
        400,
    ),
    MetaCode(131050, "User has stopped receiving your marketing messages", 400),
    MetaCode(131051, "Unsupported message type", 400),
    MetaCode(131052, "Media download error", 400),
    MetaCode(131053, "Media upload error", 400),
    MetaCode(
        131056, "(Business Account, Consumer Account) pair rate limit hit", 400, retryable=True
    ),
    MetaCode(131057, "Account in maintenance mode", 500, retryable=True),
    MetaCode(132000, "Template Param Count Mismatch", 400),
    MetaCode(132001, "Template does not exist", 404),
    MetaCode(132005, "Template Hydrated Text Too Long", 400),
    MetaCode(132007, "Template Format Character Policy Violated", 400),
    MetaCode(132012, "Template Parameter Format Mismatch", 400),
    MetaCode(132015, "Template is Paused", 400),
    MetaCode(132016, "Template is Disabled", 400),
    MetaCode(133004, "Server Temporarily Unavailable", 503, retryable=True),
    MetaCode(133010, "Phone number Not Registered", 400),
    MetaCode(135000, "Generic user error", 400),
    MetaCode(137000, "Identity key hash mismatch", 400),
)

META_CODES: dict[int, MetaCode] = {row.code: row for row in _ROWS}


def meta_code(code: int) -> MetaCode:
    """The registry row for `code`; unknown codes get a generic, non-retryable row."""
    if code in META_CODES:
        return META_CODES[code]
    if 200 <= code <= 299:
        return MetaCode(code, META_CODES[200].title, 403)
    return MetaCode(code, "Unknown error", 400)
