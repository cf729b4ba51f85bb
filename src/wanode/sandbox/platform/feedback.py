"""What users do about a business, and what follows at Meta (`wanode.sandbox.rules.policies`):
a handset blocks a business number or reports it as spam, stops or resumes its marketing
messages; a test number's allowed recipients; templates paused and disabled for the blocks
and spam reports they drew, and unpaused when the pause is over.

A pause ends lazily: the first send of the template at or after `paused_until` (on the
sandbox's `clock`) unpauses it first, with its APPROVED status update (`other_info` UNPAUSE),
so tests move the clock instead of waiting 3 hours.
"""

from __future__ import annotations

from typing import Any

import structlog

from wanode.sandbox.platform.customers import Customers
from wanode.sandbox.rules import policies
from wanode.sandbox.rules.errors import SandboxError
from wanode.sandbox.rules.hydration import Rendered
from wanode.sandbox.rules.validation import SendRequest
from wanode.sandbox.state.handsets import Handset
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.templates import Template, status_update
from wanode.sandbox.webhooks import inbound

log = structlog.get_logger(__name__)


class Feedback(Customers):
    """Blocks, spam reports, marketing opt-outs, allowed lists, the template pauses, and every
    template status move with its webhook (`_change_template`)."""

    def block(self, wa_id: str, phone_number_id: str, *, report: bool) -> Handset:
        """The user blocks the business number (and with `report`, reports it as spam, which
        on WhatsApp blocks too). Its messages to the user fail with 131026 from now on; the
        block or report counts towards the number's spam restriction (131048) and against
        the last template the number sent the user."""
        number = self.number(phone_number_id)
        handset = self.handsets.ensure(wa_id)
        if not handset.config.exists:
            raise SandboxError(409, f"{wa_id} is not a WhatsApp user")
        if phone_number_id in handset.blocked and not report:
            return handset  # blocked already: nothing new to count
        if phone_number_id not in handset.blocked:
            handset.blocked.append(phone_number_id)
        now = self.clock()
        template = self._last_template(handset, number)
        self.number_states.of(phone_number_id).feedback.append(
            {
                "at": now,
                "wa_id": wa_id,
                "kind": "spam" if report else "block",
                "template_id": template.template_id if template is not None else None,
            }
        )
        self._note_handset(handset)
        log.info(
            "sandbox.handset.blocked",
            wa_id=wa_id,
            phone_number_id=phone_number_id,
            report=report,
        )
        if template is not None:
            self._judge(template, now)
        return handset

    def unblock(self, wa_id: str, phone_number_id: str) -> Handset:
        """The user unblocks the number: its messages arrive again. What the block counted
        stays counted, as Meta's quality rating remembers it."""
        self.number(phone_number_id)
        handset = self.handsets.ensure(wa_id)
        if phone_number_id in handset.blocked:
            handset.blocked.remove(phone_number_id)
            self._note_handset(handset)
        return handset

    def marketing(self, wa_id: str, phone_number_id: str, *, receive: bool) -> Handset:
        """The user stops (or resumes) marketing messages from the number: its MARKETING
        templates fail with 131050 meanwhile; other messages arrive."""
        self.number(phone_number_id)
        handset = self.handsets.ensure(wa_id)
        stopped = phone_number_id in handset.marketing_stopped
        if stopped and receive:
            handset.marketing_stopped.remove(phone_number_id)
        elif not stopped and not receive:
            handset.marketing_stopped.append(phone_number_id)
        self._note_handset(handset)
        return handset

    def set_allowed_recipients(self, phone_number_id: str, value: Any) -> list[str] | None:
        """Make the number a test number sending only to `value` (up to 5 phone numbers; a
        send to anyone else is refused with 131030), or lift its list with None."""
        self.number(phone_number_id)
        try:
            allowed = policies.allowed_list(value)
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        self.number_states.of(phone_number_id).allowed_recipients = allowed
        return allowed

    def receive(
        self,
        handset: Handset,
        number: BusinessNumber,
        kind: str,
        summary: str,
        body: Any,
        context: inbound.Context | None = None,
    ) -> str:
        """As `Customers.receive`, but a user cannot write to a number it blocked."""
        if number.phone_number_id in handset.blocked:
            raise SandboxError(
                409,
                f"{handset.wa_id} blocked the business {number.phone_number_id}; unblock it "
                "to write to it",
            )
        return super().receive(handset, number, kind, summary, body, context)

    def _rendered(self, number: BusinessNumber, request: SendRequest) -> Rendered | None:
        """End a pause that is over before the send is judged (see the module docstring)."""
        send = request.template
        if send is not None:
            template = self.templates.find(number.waba_id, send.name, send.language)
            if template is not None and template.status == "PAUSED":
                now = self.clock()
                if template.paused_until is not None and now >= template.paused_until:
                    template.paused_until, template.quality_since = None, now
                    self._change_template(template, "APPROVED", "NONE")
        return super()._rendered(number, request)

    def _judge(self, template: Template, now: float) -> None:
        """Pause (or, after the last pause, disable) an APPROVED template that drew
        `SandboxConfig.template_pause_signals` blocks and spam reports since it was
        approved or unpaused."""
        threshold = self.config.template_pause_signals
        if threshold is None or template.status != "APPROVED":
            return
        signals = sum(
            1
            for state in (self.number_states.of(n.phone_number_id) for n in self.numbers())
            for f in state.feedback
            if f["template_id"] == template.template_id and f["at"] >= template.quality_since
        )
        if signals < threshold:
            return
        pause = policies.next_pause(template.pauses)
        template.quality_since = now
        if pause is None:
            self._change_template(template, "DISABLED", "NONE")
            return
        template.paused_until = now + pause
        self._change_template(template, "PAUSED", "NONE")

    def _last_template(self, handset: Handset, number: BusinessNumber) -> Template | None:
        """The template of the last template message `number` sent the handset, if any."""
        for entry in reversed(handset.inbox):
            if entry.phone_number_id == number.phone_number_id and entry.template is not None:
                rendered = entry.template
                return self.templates.find(number.waba_id, rendered.name, rendered.language)
        return None

    def _change_template(self, template: Template, new: str, reason: str) -> None:
        previous = template.status
        if (previous, template.reason) == (new, reason):
            return
        template.status, template.reason = new, reason
        if new == "PAUSED":
            template.pauses += 1
        self._template_webhook(template, new, previous)
        log.info(
            "sandbox.template.status",
            template_id=template.template_id,
            status=new,
            reason=reason,
        )

    def _template_webhook(self, template: Template, event: str, previous: str) -> None:
        """Send the status update once to each webhook URL among the WABA's numbers."""
        body = status_update(template, event, previous=previous, now=int(self.clock()))
        urls: set[str | None] = set()
        for number in self._numbers.values():
            if number.waba_id == template.waba_id and number.webhook_url not in urls | {None}:
                urls.add(number.webhook_url)
                self._webhooks.post(number.phone_number_id, body)
