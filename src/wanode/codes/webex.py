"""Messaging API codes (reference/webex-connect.md §2): synchronous codes and DR codes."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


class SYNC:
    """Synchronous response codes of the Messaging API (§2.1)."""

    QUEUED = "1001"
    INVALID_JSON = "7000"
    AUTH_FAILED = "7001"
    KEY_MISSING = "7002"
    MANDATORY_MISSING = "7003"
    INVALID_VALUE = "7004"
    REQUEST_EXPIRED = "7005"
    INTERNAL_ERROR = "7006"
    TOO_MANY_DESTINATIONS = "7009"
    INVALID_APP_ID = "7104"
    INVALID_TEMPLATE_ID = "7108"
    NOT_FOUND = "7600"
    NOT_CONSENTED = "9002"

    DESCRIPTIONS = MappingProxyType(
        {
            "1001": "Queued",
            "7000": "Invalid JSON",
            "7001": "Authentication failed.",
            "7002": "Service Key Missing",
            "7003": "Mandatory parameters missing",
            "7004": "Invalid parameters/Values",
            "7005": "Request expired",
            "7006": "Internal error occurred",
            "7009": "Max number of destination address limited to 1000",
            "7104": "Invalid app id",
            "7108": "Invalid template ID",
            "7600": "Invalid or unknown transaction",
            "9002": "Recipient has not consented to message",
        }
    )


@dataclass(frozen=True)
class DrCode:
    code: str
    description: str
    delivery_status: str  # Submitted | Delivered | Read | Failed


def _failed(code: str, description: str) -> DrCode:
    return DrCode(code, description, "Failed")


SUBMITTED = DrCode("7501", "Submitted", "Submitted")
DELIVERED = DrCode("7500", "Delivered", "Delivered")
READ = DrCode("7502", "Read", "Read")
UNKNOWN_STATUS = _failed("7200", "Unknown Status")
MESSAGE_EXPIRED = _failed("7705", "Message expired")
RE_ENGAGEMENT = _failed("7710", "Re-engagement message")
HASH_MISMATCH = _failed("7862", "Hash mismatch")
# A contact-policy code (§2.1); wanode reports its opt-in refusals with it.
NOT_CONSENTED = _failed("9002", "Recipient has not consented to message")

DR_CODES: dict[str, DrCode] = {
    c.code: c
    for c in (
        SUBMITTED,
        DELIVERED,
        READ,
        UNKNOWN_STATUS,
        MESSAGE_EXPIRED,
        RE_ENGAGEMENT,
        HASH_MISMATCH,
        NOT_CONSENTED,
        _failed("7010", "Service provider exception"),
        _failed("7011", "Unknown Exception"),
        _failed("7701", "Media download error"),
        _failed("7703", "Business eligibility - Payment issue"),
        _failed("7704", "Message is not valid"),
        _failed("7706", "Rate limit hit"),
        _failed("7711", "Spam Rate limit hit"),
        _failed("7713", "Generic error"),
        _failed("7714", "Message too long"),
        _failed("7721", "Required parameter is missing"),
        _failed(
            "7722",
            "Parameter value is not valid. The namespace does not correspond to the WABA id.",
        ),
        _failed("7733", "Bad User"),
        _failed("7804", "Template Param Count Mismatch"),
        _failed("7805", "Template Missing"),
        _failed("7808", "Template Param Length Too Long"),
        _failed("7809", "Template Hydrated Text Too Long"),
        _failed("7811", "Template Format Character Policy Violated"),
        _failed("7812", "Template Required Component Missing"),
        _failed("7813", "Template Invalid Hydrated URL"),
        _failed("7814", "Template Media Format Unsupported"),
        _failed("7815", "Template Invalid Phone Number"),
        _failed("7816", "Template Parameter Format Mismatch"),
        _failed("7832", "AuthException. We were unable to authenticate the app user."),
        _failed("7833", "API Unknown. Invalid request or possible server error."),
        _failed("7834", "API Service. Temporary due to downtime or due to being overloaded."),
        _failed("7835", "API Method. Capability or permissions issue."),
        _failed("7836", "API Too Many Calls"),
        _failed(
            "7837",
            "API Permission Denied. Permission is either not granted or has been removed.",
        ),
        _failed(
            "7838",
            "Parameter is invalid. The request included one or more unsupported or "
            "misspelled parameters.",
        ),
        _failed("7839", "Access token has expired"),
        _failed("7840", "Permission is either not granted or has been removed."),
        _failed("7842", "Temporarily blocked for policies violations"),
        _failed("7845", "Rate limit hit. Cloud API message throughput has been reached."),
        _failed("7846", "Service Overloaded"),
        _failed("7849", "Template does not exist"),
        _failed("7854", "Server Temporarily Unavailable"),
        _failed("7860", "Account has been locked"),
        _failed("7861", "Unsupported mime type"),
        _failed("7863", "Generic user error"),
        _failed("7865", "Phone number Not Registered"),
        _failed("7868", "Template is Disabled"),
        _failed("7869", "Template is Paused"),
        _failed("7870", "Business Account in maintenance mode"),
        _failed("7871", "Message Undeliverable"),
        _failed("7872", "User's number is part of an experiment"),
        _failed("7874", "(Business Account, Consumer Account) pair rate limit hit"),
    )
}

# Meta error code -> Messaging API DR code (reference §2.2, "Meta code" column).
_META_TO_DR: dict[int, str] = {
    0: "7832",
    1: "7833",
    2: "7834",
    3: "7835",
    4: "7836",
    10: "7840",
    100: "7838",
    190: "7839",
    368: "7842",
    130429: "7845",
    130472: "7872",
    131000: "7713",
    131008: "7721",
    131009: "7722",
    131016: "7846",
    131021: "7733",
    131026: "7871",
    131031: "7860",
    131042: "7703",
    131047: "7710",
    131048: "7711",
    131052: "7701",
    131053: "7861",
    131056: "7874",
    131057: "7870",
    132000: "7804",
    132001: "7849",
    132005: "7809",
    132007: "7811",
    132012: "7816",
    132015: "7869",
    132016: "7868",
    133004: "7854",
    133010: "7865",
    135000: "7863",
    137000: "7862",
}


def dr_for_meta_code(code: int) -> DrCode:
    """The DR code reported for a failure that carries Meta error `code`."""
    if 200 <= code <= 299:
        return DR_CODES["7837"]
    return DR_CODES.get(_META_TO_DR.get(code, ""), UNKNOWN_STATUS)
