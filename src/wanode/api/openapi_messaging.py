"""The Messaging API's destinations and delivery reports in the OpenAPI document.

`POST /resources/v1/messaging` takes a free JSON object (each message kind checks its own
body), but its `destination` and the DR it posts to `notifyurl` have fixed shapes, so they are
documented here: a destination names the customer one way (`waid`, `bsuid` or `customerid`;
`to`, `bsuid` or `customerid` for the native `POST /v1/messages`), and a DR says which
(`destinationType`) and carries the `bsuid` when it is known (reference/webex-connect.md §1.2,
§3).
"""

from __future__ import annotations

from typing import Any

from wanode.policy.bsuid import PATTERN

_IDS = {"type": "array", "minItems": 1, "items": {"type": "string"}}
BSUID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": f"^{PATTERN.pattern}$",
    "maxLength": 128,
    "description": "e.g. US.13491208655302741918",
}

DESTINATION_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "description": "Up to 1,000 ids in all. Each object names its customers one way: `waid` "
    "(numbers), `bsuid` (business-scoped user ids, as inbound events and DRs give them; one "
    "that no webhook of the app has named is refused with 7004 for that destination) or "
    "`customerid` (contact profiles); `correlationid` overrides the request's.",
    "items": {
        "type": "object",
        "properties": {
            "waid": _IDS,
            "bsuid": {**_IDS, "items": BSUID_SCHEMA},
            "customerid": _IDS,
            "correlationid": {"type": "string"},
        },
    },
}

DELIVERY_REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["deliveryInfoNotification"],
    "properties": {
        "deliveryInfoNotification": {
            "type": "object",
            "required": ["deliveryInfo", "transid", "subtid", "correlationid", "callbackData"],
            "properties": {
                "deliveryInfo": {
                    "type": "object",
                    "required": [
                        "timeStamp",
                        "waid",
                        "destination",
                        "destinationType",
                        "deliveryChannel",
                        "deliveryStatus",
                        "code",
                        "Description",
                        "additionalInfo",
                        "identityKeyHash",
                    ],
                    "properties": {
                        "timeStamp": {"type": "string", "format": "date-time"},
                        "waid": {"type": "string"},
                        "bsuid": {
                            "type": "string",
                            "description": "the customer's business-scoped user id: present "
                            "when the destination was one or WhatsApp's status named it",
                        },
                        "destination": {"type": "string", "description": "as the request gave it"},
                        "destinationType": {
                            "type": "string",
                            "enum": ["waid", "bsuid", "customerid"],
                        },
                        "deliveryChannel": {"type": "string", "enum": ["whatsapp"]},
                        "deliveryStatus": {"type": "string"},
                        "code": {"type": "string"},
                        "Description": {"type": "string"},
                        "additionalInfo": {"type": "string"},
                        "identityKeyHash": {"type": "string"},
                    },
                },
                "transid": {"type": "string"},
                "subtid": {"type": "string"},
                "correlationid": {"type": "string"},
                "callbackData": {"type": "string"},
                "possiblyDuplicated": {"type": "boolean"},
            },
        }
    },
}


# `POST /v1/messages` names its one customer one way, as a Messaging API destination does.
NATIVE_DESTINATION: dict[str, Any] = {
    "to": {"type": "string", "description": "a number (wa_id)"},
    "bsuid": {
        **BSUID_SCHEMA,
        "description": "a business-scoped user id, as inbound events and DRs give them; one "
        "that no webhook of the app has named is refused with 7004 (field `bsuid`)",
    },
    "customerid": {"type": "string", "description": "a contact profile's customer id"},
}


def document_messaging(paths: dict[str, Any]) -> None:
    """The messaging operation's `destination` and its delivery-report callback, and the
    native send's destination fields."""
    native = paths.get("/v1/messages", {}).get("post")
    if native is not None:
        content = native.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = content.setdefault("schema", {"type": "object"})
        schema.setdefault("properties", {}).update(NATIVE_DESTINATION)
    operation = paths.get("/resources/v1/messaging", {}).get("post")
    if operation is None:
        return
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.setdefault("schema", {"type": "object"})
    schema.setdefault("properties", {})["destination"] = DESTINATION_SCHEMA
    operation["callbacks"] = {
        "deliveryReport": {
            "{$request.body#/notifyurl}": {
                "post": {
                    "description": "A delivery report, one per status the message reaches",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": DELIVERY_REPORT_SCHEMA}},
                    },
                    "responses": {"200": {"description": "Taken; anything else is retried"}},
                }
            }
        }
    }
