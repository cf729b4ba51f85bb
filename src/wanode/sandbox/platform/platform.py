"""The whole platform: templates (created, reviewed, moved by the control panel, deleted) and
uploaded media, over the feedback, customers, messages and core below it."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from wanode.sandbox.platform.feedback import Feedback
from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.rules.template_spec import TemplateSpec
from wanode.sandbox.rules.tokens import same
from wanode.sandbox.state.media import StoredMedia
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.templates import (
    CONTROL_STATUSES,
    REJECTION_REASONS,
    Template,
    review,
)

log = structlog.get_logger(__name__)


class Platform(Feedback):
    """A WhatsApp Business Platform in memory; `wanode.sandbox.Sandbox` adds its ASGI app."""

    def start(self) -> None:
        """Start writing the state behind and resume what the state file left pending: the
        messages' statuses (see `Messages.start`) and the reviews of PENDING templates."""
        super().start()
        reviews, self._reviews = self._reviews, []
        for template in reviews:
            self._spawn(self._review(template))

    def create_template(self, waba_id: str, spec: TemplateSpec) -> Template:
        """Keep a new template PENDING and start its review (`wanode.sandbox.state.templates`)."""
        now = self.clock()
        if self.templates.find(waba_id, spec.name, spec.language) is not None:
            raise MetaError(
                100,
                f"name: Content in this language already exists: {spec.name!r} already has "
                f"a {spec.language} translation",
            )
        if self.templates.reuse_blocked(waba_id, spec.name, now=now):
            raise MetaError(
                100,
                f"name: {spec.name!r} was deleted while approved and cannot be used again for "
                "30 days",
            )
        template = self.templates.add(waba_id, spec)
        self._spawn(self._review(template))
        log.info(
            "sandbox.template.created",
            waba_id=waba_id,
            template_id=template.template_id,
            name=spec.name,
        )
        return template

    def delete_templates(self, waba_id: str, name: str, hsm_id: str | None) -> None:
        """Delete every language of `name`, or with `hsm_id` only that template (§3.2)."""
        named = [t for t in self.templates.of(waba_id) if t.spec.name == name]
        if hsm_id is not None:
            named = [t for t in named if t.template_id == hsm_id]
        if not named:
            what = f"{name!r} with hsm_id {hsm_id!r}" if hsm_id is not None else repr(name)
            raise MetaError(100, f"name: there is no message template {what} to delete")
        if any(t.status == "DISABLED" for t in named):
            raise MetaError(
                100, f"name: {name!r} is DISABLED; disabled templates cannot be deleted"
            )
        now = self.clock()
        for template in named:
            self.templates.remove(template, now=now)
            previous, template.status = template.status, "DELETED"
            self._template_webhook(template, "DELETED", previous)

    def set_template_status(self, template_id: str, changes: Any) -> Template:
        """The control panel moves a template to APPROVED, REJECTED, PAUSED or DISABLED."""
        template = self.templates.get(template_id)
        if template is None:
            raise SandboxError(404, f"no template {template_id!r}")
        if not isinstance(changes, dict):
            raise SandboxError(400, "body must be a JSON object")
        unknown = sorted(set(changes) - {"status", "reason"})
        if unknown:
            raise SandboxError(400, f"unknown field {unknown[0]!r}")
        new = changes.get("status")
        if new not in CONTROL_STATUSES:
            raise SandboxError(400, f"status must be one of {', '.join(CONTROL_STATUSES)}")
        reason = changes.get("reason")
        if reason is not None and new != "REJECTED":
            raise SandboxError(400, "reason: only a rejection has a reason")
        if new == "REJECTED" and reason is None:
            reason = "INVALID_FORMAT"
        if reason is not None and reason not in REJECTION_REASONS:
            raise SandboxError(400, f"reason must be one of {', '.join(REJECTION_REASONS)}")
        if new == "PAUSED" and template.status != "APPROVED":
            raise SandboxError(
                409, f"only an APPROVED template can be paused; this is {template.status}"
            )
        self._change_template(template, new, reason or "NONE")
        return template

    async def _review(self, template: Template) -> None:
        await asyncio.sleep(self.config.template_review_delay)
        # Deleted, or moved by the control panel meanwhile: the review has nothing to decide.
        if template.status == "PENDING" and self.templates.get(template.template_id) is template:
            self._change_template(template, *review(template.spec))

    def upload(
        self, number: BusinessNumber, data: bytes, mime_type: str, filename: str
    ) -> StoredMedia:
        """Keep media uploaded for `number`; `mime_type` comes from `media.upload_type`."""
        media = self.media.add(number.phone_number_id, data, mime_type, filename)
        log.info(
            "sandbox.media.uploaded",
            phone_number_id=number.phone_number_id,
            media_id=media.media_id,
            mime_type=mime_type,
            size=len(data),
        )
        return media

    def uploaded(
        self, media_id: str, authorization: str | None, phone_number_id: str | None = None
    ) -> StoredMedia:
        """Uploaded media the bearer token may read or delete (`/{media-id}` and its download).

        As in Graph, media that does not exist, belongs to a number the token cannot act for,
        or (with the optional `phone_number_id`) to another number all answer the same 100.
        """
        token = self._known_token(authorization)
        media = self.media.get(media_id)
        owner = self._numbers.get(media.phone_number_id) if media is not None else None
        if (
            media is None
            or owner is None
            or not same(token, owner.access_token)
            or phone_number_id not in (None, media.phone_number_id)
        ):
            raise MetaError(
                100,
                f"Unsupported request - media {media_id!r} does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation",
                error_type="GraphMethodException",
            )
        return media
