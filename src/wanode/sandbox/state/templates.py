"""Message templates: the store, the review, and what Graph and the status webhook show.

Review (EMULATOR CHOICE; Meta's review is a black box): a new template is PENDING, and
`SandboxConfig.template_review_delay` seconds later it is APPROVED, unless its name starts with
`reject_`. Such a template is REJECTED; the reason is the one its name spells next
(`reject_scam_offer` -> SCAM, `reject_incorrect_category_x` -> INCORRECT_CATEGORY), else
INVALID_FORMAT. Definitions Meta refuses outright (cloud-api.md §3.1, see `template_spec`)
never reach review: the create call answers 100.

Each status change emits a `message_template_status_update` webhook (cloud-api.md §3.4):
`reason` is "NONE" unless rejected; a rejection adds `rejection_info`, a pause `other_info`
(FIRST_PAUSE, SECOND_PAUSE...), a reinstatement from a pause `other_info` UNPAUSE, and a
disablement `disable_info`.

Every WABA starts with Meta's sample template `hello_world` (en_US, APPROVED), as real WABAs
do, unless `SandboxConfig.sample_templates` is off.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wanode.sandbox.rules.template_parser import parse_template
from wanode.sandbox.rules.template_spec import TemplateSpec

REASONS = (
    "NONE",
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
    "CATEGORY_NOT_AVAILABLE",
)
REJECTION_REASONS = REASONS[1:]
CONTROL_STATUSES = ("APPROVED", "REJECTED", "PAUSED", "DISABLED")
FIELDS = (
    "id",
    "name",
    "language",
    "status",
    "category",
    "parameter_format",
    "components",
    "rejected_reason",
)
DEFAULT_FIELDS = FIELDS[:-1]
REJECT_PREFIX = "reject_"
NAME_REUSE_BLOCK = 30 * 24 * 60 * 60
_ORDINALS = ("FIRST", "SECOND", "THIRD")

SAMPLE_TEMPLATE = {
    "name": "hello_world",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        {
            "type": "BODY",
            "text": "Welcome and congratulations!! This message demonstrates your ability to "
            "send a message notification from WhatsApp Business Platform\u2019s Cloud API. Thank "
            "you for taking the time to test with us.",
        },
        {"type": "FOOTER", "text": "WhatsApp Business API Team"},
    ],
}


@dataclass
class Template:
    template_id: str
    waba_id: str
    spec: TemplateSpec
    status: str = "PENDING"
    reason: str = "NONE"
    pauses: int = 0
    # When a pause for quality ends (None: not paused, or paused by the control panel), and
    # since when feedback counts towards the next pause (`wanode.sandbox.platform.feedback`).
    paused_until: float | None = None
    quality_since: float = 0.0

    @property
    def sendable(self) -> bool:
        return self.status == "APPROVED"

    def graph(self, fields: Iterable[str] = DEFAULT_FIELDS) -> dict[str, Any]:
        """The template as `GET /{waba-id}/message_templates` and `GET /{template-id}` show it."""
        every = {
            "id": self.template_id,
            "name": self.spec.name,
            "language": self.spec.language,
            "status": self.status,
            "category": self.spec.category,
            "parameter_format": self.spec.parameter_format,
            "components": [dict(component) for component in self.spec.components],
            "rejected_reason": self.reason,
        }
        return {key: every[key] for key in FIELDS if key in set(fields) | {"id"}}

    def panel(self) -> dict[str, Any]:
        """The template as the sandbox's control panel lists it."""
        return {**self.graph(FIELDS), "waba_id": self.waba_id}


class TemplateStore:
    """Every template of every WABA, in creation order."""

    def __init__(self) -> None:
        self._by_id: dict[str, Template] = {}
        self._deleted: dict[tuple[str, str], float] = {}

    def add(self, waba_id: str, spec: TemplateSpec, *, status: str = "PENDING") -> Template:
        template = Template(_new_template_id(), waba_id, spec, status=status)
        self._by_id[template.template_id] = template
        return template

    def get(self, template_id: str) -> Template | None:
        return self._by_id.get(template_id)

    def all(self) -> list[Template]:
        return list(self._by_id.values())

    def of(self, waba_id: str) -> list[Template]:
        return [t for t in self._by_id.values() if t.waba_id == waba_id]

    def find(self, waba_id: str, name: str, language: str) -> Template | None:
        for template in self.of(waba_id):
            if template.spec.name == name and template.spec.language == language:
                return template
        return None

    def has_waba(self, waba_id: str) -> bool:
        return any(t.waba_id == waba_id for t in self._by_id.values())

    def restore(self, template: Template) -> None:
        """Put back a template read from the state file, with its id."""
        self._by_id[template.template_id] = template

    def deleted(self) -> dict[tuple[str, str], float]:
        """When each (WABA, name) approved and then deleted was deleted (see `reuse_blocked`)."""
        return self._deleted

    def remove(self, template: Template, *, now: float) -> None:
        del self._by_id[template.template_id]
        if template.status in ("APPROVED", "PAUSED"):
            self._deleted[(template.waba_id, template.spec.name)] = now

    def reuse_blocked(self, waba_id: str, name: str, *, now: float) -> bool:
        """An approved name deleted less than 30 days ago cannot be used again (§3.2)."""
        deleted = self._deleted.get((waba_id, name))
        return deleted is not None and now - deleted < NAME_REUSE_BLOCK


def sample_spec() -> TemplateSpec:
    return parse_template(SAMPLE_TEMPLATE)


def review(spec: TemplateSpec) -> tuple[str, str]:
    """The review's verdict on a new template: (status, reason). See the module docstring."""
    if not spec.name.startswith(REJECT_PREFIX):
        return "APPROVED", "NONE"
    rest = spec.name.removeprefix(REJECT_PREFIX)
    for reason in sorted(REJECTION_REASONS, key=len, reverse=True):
        word = reason.lower()
        if rest == word or rest.startswith(word + "_"):
            return "REJECTED", reason
    return "REJECTED", "INVALID_FORMAT"


def status_update(
    template: Template, event: str, *, previous: str | None, now: int
) -> dict[str, Any]:
    """The `message_template_status_update` webhook body for `template` reaching `event`."""
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.template_id),
        "message_template_name": template.spec.name,
        "message_template_language": template.spec.language,
        "message_template_category": template.spec.category,
        "reason": template.reason if event == "REJECTED" else "NONE",
    }
    if event == "REJECTED":
        value["rejection_info"] = {
            "reason": template.reason,
            "recommendation": "Edit the template to follow the WhatsApp Business Messaging "
            "Policy, then submit it again.",
        }
    elif event == "PAUSED":
        ordinal = _ORDINALS[min(template.pauses, len(_ORDINALS)) - 1]
        value["other_info"] = {
            "title": f"{ordinal}_PAUSE",
            "description": "Your WhatsApp message template has been paused because of low quality.",
        }
    elif event == "APPROVED" and previous == "PAUSED":
        value["other_info"] = {
            "title": "UNPAUSE",
            "description": "Your WhatsApp message template can be sent again.",
        }
    elif event == "DISABLED":
        value["disable_info"] = {"disable_date": now}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": template.waba_id,
                "time": now,
                "changes": [{"field": "message_template_status_update", "value": value}],
            }
        ],
    }


def _new_template_id() -> str:
    # Graph ids are decimal strings of 15-16 digits.
    return str(10**15 + secrets.randbelow(9 * 10**15))
