"""The built-in WhatsApp Business Platform: a Cloud API look-alike for tests, demos and benchmarks.

`Sandbox(config).app` is an ASGI app speaking the Cloud API's wire format, with its state in
memory: provisioned business numbers, simulated handsets with inboxes, and signed webhooks.
With `SandboxConfig.state_file` the state is also written behind to a SQLite file and read back
at the next start, pending statuses included (`start` resumes them; see `docs/sandbox.md`).

Where things are (rooms, bottom to top; each imports only its own room and those below it, a
rule `tests/unit/test_sandbox_layout.py` checks with the no-cycle and 400-line rules):

- `config` (`SandboxConfig`, `HandsetConfig`), `samples` (sample media), `faults` (injected
  faults): leaves.
- `rules`: Meta's rules without state: errors, field readers, each message kind's checks,
  template definitions and sends, media types, media links, reactions, rates, tokens.
- `state`: the store: numbers, their Graph state, handsets and inboxes, templates, media, QR
  codes, the receive log, idempotency keys.
- `webhooks`: the emitter: payload shapes (statuses, inbound messages) and signed delivery.
- `platform`: the behaviour over the state (`Platform`): credentials, a message's acceptance
  and status lifecycle, the customers' side, templates, media; `failures` says why a message
  fails.
- `http`: what the routes share (request parameters, paging, error answers).
- `graph`: the Cloud API routes. `handset`: the control panel and the handsets' actions.
- `app` (`build_app`: both route tables) and `sandbox` (`Sandbox`: the platform with its app).

Decisions where Meta's behaviour is unknown or would not help a test bench:

- An unknown phone-number-id answers HTTP 404, code 803 "Phone number not found",
  type GraphMethodException (cloud-api.md §8). Real Graph answers a generic 100 with subcode
  33 here; 803 is the registry's own code for the case and lets clients tell a wrong id from
  a bad payload. The bearer token is judged first, as Graph does: a token no number knows is
  190 (HTTP 401) whatever the id, in Graph's words and subcodes (`wanode.sandbox.rules.tokens`).
- Graph's phone-number endpoints (details, business profile, settings, blocked users,
  register, a WABA's numbers) and the JSON error of every unknown path or method are in
  `wanode.sandbox.graph.numbers`. The identity-change check is off until a number's settings
  turn it on; until then webhooks carry no identity key hashes
  (`wanode.sandbox.state.number_state`).
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
- Rate limits (cloud-api.md §9), on at Meta's defaults: `SandboxConfig.throughput_mps`
  (80 per number) and `SandboxConfig.pair_limit` (one message per 6 s per user, bursts of
  45). Over them a send is refused at once (§8: synchronous) with 130429 or 131056; see
  `wanode.sandbox.rules.rates`. The benchmark and the test harness lift them.
- What users do has Meta's consequences (`wanode.sandbox.rules.policies`,
  `wanode.sandbox.platform.feedback`): a handset that blocked the number gets none of its
  messages (131026); blocks and spam reports restrict the number (131048) and pause, then
  disable, the template that drew them; a handset that stopped the number's marketing gets
  no marketing templates (131050), nor one over the per-user marketing limit (131049), all
  asynchronous; a test number with an allowed list refuses anyone else at once (131030).
- A media `id` in a message must be one uploaded to this sandbox for the sending number; any
  other id answers 131009 at once (the reference does not say what Meta answers). Media whose
  type the message kind does not take (a PDF sent as an image) is accepted and then fails
  with 131053, as Meta reports media it cannot use (cloud-api.md §7). Upload rules: see
  `wanode.sandbox.rules.media`. Media links are fetched, from this machine only, and fail with
  131053 when unreachable, not found or not the declared kind (`wanode.sandbox.rules.media_links`;
  `SandboxConfig.fetch_media` turns this off).
- A reaction to a message that is not in the conversation, or whose emoji is not one emoji,
  is accepted and then fails with 131009 (`wanode.sandbox.rules.reactions`).
- Status delays count from acceptance; an offline handset gets `delivered` as soon as it
  comes back online, and `read` after the usual delivered-to-read gap.
- Templates: how the review approves or rejects, and the status webhooks, in
  `wanode.sandbox.state.templates`; the definition rules in `wanode.sandbox.rules.template_spec`;
  the synchronous send errors in `wanode.sandbox.platform.failures` (132001, 132015, 132016)
  and `wanode.sandbox.rules.hydration` (132000, 132005, 132012).
- What handsets send (media, locations, contacts, reactions, taps, opened links) is described in
  `wanode.sandbox.handset.actions`; QR codes and short links in `wanode.sandbox.state.qrdls`.
- A send with an `Idempotency-Key` header that repeats an accepted send's key is answered
  with the first wamid and sends nothing (`wanode.sandbox.state.idempotency`); Graph ignores the
  header. `POST /faults/slow-answers` makes the next sends answer late after accepting them,
  the ambiguous timeout a client must retry safely (`wanode.sandbox.faults`).
- Live views watch a handset with `sandbox.events.subscribe(wa_id)` (a `Subscription` of
  `Notice`s: inbox entry added, status changed, settings changed), never by polling
  (`wanode.sandbox.platform.events`).
"""

from wanode.sandbox.config import HandsetConfig, SandboxConfig
from wanode.sandbox.platform.events import Notice, Subscription
from wanode.sandbox.sandbox import Sandbox
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.webhooks.delivery import sign

__all__ = [
    "BusinessNumber",
    "HandsetConfig",
    "Notice",
    "Sandbox",
    "SandboxConfig",
    "Subscription",
    "sign",
]
