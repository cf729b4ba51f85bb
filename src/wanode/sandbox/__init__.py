"""The built-in WhatsApp Business Platform: a Cloud API look-alike for tests, demos and benchmarks.

`Sandbox(config).app` is an ASGI app speaking the Cloud API's wire format, with its state in
memory: provisioned business numbers, simulated handsets with inboxes, and signed webhooks.

Decisions where Meta's behaviour is unknown or would not help a test bench:

- An unknown phone-number-id answers HTTP 404, code 803 "Phone number not found",
  type GraphMethodException (cloud-api.md §8). Real Graph answers a generic 100 with subcode
  33 here; 803 is the registry's own code for the case and lets clients tell a wrong id from
  a bad payload. The bearer token is judged first, as Graph does: a token no number knows is
  190 (HTTP 401) whatever the id, in Graph's words and subcodes (`wanode.sandbox.tokens`).
- Graph's phone-number endpoints (details, business profile, settings, blocked users,
  register, a WABA's numbers) and the JSON error of every unknown path or method are in
  `wanode.sandbox.graph_routes`. The identity-change check is off until a number's settings
  turn it on; until then webhooks carry no identity key hashes (`number_state`).
- A handset's inbox (`GET /handsets/{wa_id}/messages`) lists a message from its first status
  webhook on; the entry's `status` then mirrors the last status emitted: `sent` (on its way,
  e.g. the handset is offline), `delivered`, `read`, or `failed` (with `error`).
- Failures the platform learns after accepting a message (a number not on WhatsApp, 131026;
  an identity key hash mismatch, 137000) answer 200 and then emit only a `failed` status.
- So does the 24-hour customer-service window (cloud-api.md §5, §8 lists 131047 as
  asynchronous): any message but a template, to a handset that has not written to the sending
  number in the last 24 hours, answers 200 and then fails with 131047 "Re-engagement
  message". Reactions are not exempt; only templates are. `SandboxConfig.enforce_window`
  turns this off; the `Sandbox`'s `clock` can be moved to let a window close.
- Rate limits (cloud-api.md §9), off unless configured: `SandboxConfig.throughput_mps`
  (Meta's default is 80 per number) and `SandboxConfig.pair_limit` (one message per 6 s per
  user, bursts of 45). Over them a send is refused at once (§8: synchronous) with 130429 or
  131056; see `wanode.sandbox.rates`.
- A media `id` in a message must be one uploaded to this sandbox for the sending number; any
  other id answers 131009 at once (the reference does not say what Meta answers). Media whose
  type the message kind does not take (a PDF sent as an image) is accepted and then fails
  with 131053, as Meta reports media it cannot use (cloud-api.md §7). Upload rules: see
  `wanode.sandbox.media`. Media links are fetched, from this machine only, and fail with
  131053 when unreachable, not found or not the declared kind (`wanode.sandbox.media_links`;
  `SandboxConfig.fetch_media` turns this off).
- A reaction to a message that is not in the conversation, or whose emoji is not one emoji,
  is accepted and then fails with 131009 (`wanode.sandbox.reactions`).
- Status delays count from acceptance; an offline handset gets `delivered` as soon as it
  comes back online, and `read` after the usual delivered-to-read gap.
- Templates: how the review approves or rejects, and the status webhooks, in
  `wanode.sandbox.templates`; the definition rules in `template_spec`; the synchronous send
  errors (132000, 132001, 132005, 132012, 132015, 132016) in `hydration`.
- What handsets send (media, locations, contacts, reactions, taps, opened links) is described in
  `wanode.sandbox.actions`; QR codes and short links in `wanode.sandbox.qrdls`.
- A send with an `Idempotency-Key` header that repeats an accepted send's key is answered
  with the first wamid and sends nothing (`wanode.sandbox.idempotency`); Graph ignores the
  header. `POST /faults/slow-answers` makes the next sends answer late after accepting them,
  the ambiguous timeout a client must retry safely (`wanode.sandbox.faults`).
"""

from wanode.sandbox.config import HandsetConfig, SandboxConfig
from wanode.sandbox.numbers import BusinessNumber
from wanode.sandbox.sandbox import Sandbox
from wanode.sandbox.webhooks import sign

__all__ = ["BusinessNumber", "HandsetConfig", "Sandbox", "SandboxConfig", "sign"]
