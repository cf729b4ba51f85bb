"""Why a send is refused or an accepted message fails, judged against the platform's state:
the template a send names (132001, 132015, 132016, at once), and after acceptance a user not on
WhatsApp (131026), what users did (131026 blocked, 131048, 131049, 131050: see
`wanode.sandbox.rules.policies`), a closed 24-hour window (131047), an identity key mismatch
(137000), media of the wrong kind (131053), a reaction to no message of the conversation (131009).
"""

from __future__ import annotations

from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.kinds import MediaRef
from wanode.sandbox.rules.kinds.content import ReactionSend, TemplateSend
from wanode.sandbox.rules.media import types_for
from wanode.sandbox.rules.reactions import MAX_AGE, PARAMETER_INVALID, is_emoji
from wanode.sandbox.rules.validation import SendRequest
from wanode.sandbox.state.handsets import Handset
from wanode.sandbox.state.media import StoredMedia
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.templates import Template

# The customer-service window: how long after a user's last message the business may send
# anything; outside it, templates only (cloud-api.md §5).
CUSTOMER_SERVICE_WINDOW = 24 * 60 * 60
_OUTSIDE_WINDOW = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def check_status(template: Template | None, send: TemplateSend) -> Template:
    """The template a send names, if it may be sent (132001, 132015, 132016 otherwise)."""
    where = f"template.name: {send.name!r} in {send.language}"
    if template is None:
        raise MetaError(132001, f"{where}: template name does not exist in the translation")
    if template.status == "PAUSED":
        raise MetaError(132015, f"{where}: the template is paused")
    if template.status == "DISABLED":
        raise MetaError(132016, f"{where}: the template is disabled")
    if not template.sendable:
        raise MetaError(132001, f"{where}: the template is {template.status}, not APPROVED")
    return template


def window_open(handset: Handset, number: BusinessNumber, now: float) -> bool:
    """Whether the handset wrote to `number` less than 24 hours before `now` (§5)."""
    last = handset.last_sent_to(number.phone_number_id)
    return last is not None and now - last < CUSTOMER_SERVICE_WINDOW


def failure(
    handset: Handset,
    request: SendRequest,
    media: list[tuple[MediaRef, StoredMedia]],
    *,
    outside_window: bool,
    restriction: tuple[int, str] | None = None,
) -> tuple[int, str] | None:
    """Why an accepted message will fail instead of being delivered, if it will; `restriction`
    is what the user's and the number's feedback decided (`Messages._restriction`)."""
    if not handset.config.exists:
        return 131026, f"{handset.wa_id} is not a WhatsApp user"
    if restriction is not None:
        return restriction
    if outside_window:
        return 131047, _OUTSIDE_WINDOW
    expected = request.recipient_identity_key_hash
    if expected is not None and expected != handset.identity_key_hash:
        return 137000, "recipient_identity_key_hash does not match the user's current identity key"
    for ref, upload in media:
        if upload.kind != ref.kind:
            return 131053, (
                f"{ref.path}: media {ref.media_id} is {upload.mime_type}; {ref.kind} messages "
                f"take {', '.join(types_for(ref.kind))}"
            )
        if ref.voice and upload.mime_type != "audio/ogg":
            return 131053, (
                f"{ref.path}: a voice note must be OGG/OPUS; media {ref.media_id} is "
                f"{upload.mime_type}"
            )
    return None


def reaction_failure(
    handset: Handset, phone_number_id: str, reaction: ReactionSend | None, *, now: float
) -> tuple[int, str] | None:
    """Why an accepted reaction from `phone_number_id` to `handset` is not delivered, if so
    (None for any other message)."""
    if reaction is None:
        return None
    if reaction.emoji and not is_emoji(reaction.emoji):
        shown = reaction.emoji if len(reaction.emoji) <= 20 else reaction.emoji[:20] + "..."
        return PARAMETER_INVALID, f"reaction.emoji: {shown!r} is not an emoji"
    target = reaction.message_id
    found = _target(handset, phone_number_id, target)
    if found is None:
        return PARAMETER_INVALID, (
            f"reaction.message_id: {target!r} is not a message of this conversation"
        )
    kind, at, failed = found
    if kind == "reaction":
        return PARAMETER_INVALID, f"reaction.message_id: {target} is itself a reaction"
    if failed:
        return PARAMETER_INVALID, f"reaction.message_id: {target} was not delivered"
    if now - at > MAX_AGE:
        return PARAMETER_INVALID, f"reaction.message_id: {target} is older than 30 days"
    return None


def _target(handset: Handset, phone_number_id: str, wamid: str) -> tuple[str, float, bool] | None:
    """The kind, time and failure of a message between the number and the handset."""
    for entry in handset.inbox:
        if entry.wamid == wamid and entry.phone_number_id == phone_number_id:
            return entry.kind, entry.accepted_at, entry.status == "failed"
    for sent in handset.sent:
        if sent.wamid == wamid and sent.phone_number_id == phone_number_id:
            return sent.kind, sent.sent_at, False
    return None
