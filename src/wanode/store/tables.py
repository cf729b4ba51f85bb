"""The schema, in SQLAlchemy Core. Times are UTC epoch seconds (double) so both backends agree."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone_number_id", sa.String(40), nullable=False, unique=True),
    sa.Column("waba_id", sa.String(40), nullable=False),
    sa.Column("display_phone_number", sa.String(32), nullable=False),
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("app_secret", sa.Text, nullable=False),
    sa.Column("verify_token", sa.Text, nullable=False),
    sa.Column("gateway", sa.String(16), nullable=False),
    sa.Column("graph_base_url", sa.Text),
    sa.Column("api_version", sa.String(16)),
    sa.Column("notify_url", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
    # Destinations must be written +E.164 (the spec's per-app setting); otherwise normalised.
    sa.Column("require_e164", sa.Boolean, nullable=False, server_default=sa.false()),
    # Template categories that need an opt-in outside the window; NULL is the spec's default.
    sa.Column("opt_in_categories", sa.JSON),
    # New customers reachable with templates in a rolling 24 h (wanode.pacing.tier); NULL: the
    # WANODE_MESSAGING_TIER default, 0: unlimited.
    sa.Column("messaging_tier", sa.Integer),
    # A send a crash left unanswered (engine/dispatcher.py): "resend" it, flagged possibly
    # duplicated, or "fail" it (at most once).
    sa.Column("in_doubt", sa.String(16), nullable=False, server_default="resend"),
    # Delivery reports signed with `x-hub-signature` (webex-connect.md §3): "sha256" or
    # "sha512" (NULL: unsigned), keyed with `notify_secret` (sealed, wanode.store.keyring).
    sa.Column("notify_signing", sa.String(8)),
    sa.Column("notify_secret", sa.Text),
    # The Messaging API's service secret (base64), which signs the app's JWTs (sealed; NULL:
    # no JWT names this app).
    sa.Column("service_secret", sa.Text),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double),
    # An app key acts on its app's resources only; an admin key (app_id NULL) on every app's.
    # Deleting the app removes its keys.
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE")),
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Queued messages that no claim holds, and those a claim holds: the partial indexes of the
# dispatcher's claims (store/messages.py).
_QUEUED_UNCLAIMED = sa.text("status = 'queued' AND lease_until IS NULL")
_QUEUED_CLAIMED = sa.text("status = 'queued' AND lease_until IS NOT NULL")

# The outbox: a row is written `queued` in the transaction that answers the API.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("transid", sa.String(36), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("wa_id", sa.String(32), nullable=False),
    sa.Column("destination", sa.String(128), nullable=False),  # a number or a customer id
    sa.Column("destination_type", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # For template messages: the registry's id and category (the opt-in policy looks at it).
    sa.Column("template_id", sa.String(64)),
    sa.Column("template_category", sa.String(32)),
    sa.Column("correlationid", sa.Text),
    sa.Column("callback_data", sa.Text),
    sa.Column("notify_url", sa.Text),
    sa.Column("identity_key_hash", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_at", sa.Double, nullable=False),
    sa.Column("wamid", sa.String(128), unique=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("lease_until", sa.Double),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_title", sa.Text),
    sa.Column("error_details", sa.Text),
    sa.Column("expires_at", sa.Double),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("submitted_at", sa.Double),
    # Why a queued message waits without an attempt: "tier" or "pacing" (NULL: it does not).
    sa.Column("held_reason", sa.String(16)),
    # An attempt timed out after the request was sent, on a gateway that ignores idempotency
    # keys, and the message was sent again: WhatsApp may have delivered it twice.
    sa.Column("possibly_duplicated", sa.Boolean, nullable=False, server_default=sa.false()),
    # When the current claim's send began (written before the request leaves): a claim whose
    # lease ran out with this set was cut short mid-send, and its message is in doubt.
    sa.Column("sending_at", sa.Double),
    # The notify-URL auth profile its DRs are posted with (`notifyurlAuthId`).
    sa.Column("notify_auth_id", sa.String(64)),
    # The dispatcher's claims (`store.messages.claim`, migration 0015): the due queued rows that
    # no claim holds, and the held ones by the end of their lease. Partial: a message leaves
    # both once it is no longer queued, and its later updates write no entry in either.
    sa.Index(
        "ix_messages_due",
        "next_attempt_at",
        sqlite_where=_QUEUED_UNCLAIMED,
        postgresql_where=_QUEUED_UNCLAIMED,
    ),
    sa.Index(
        "ix_messages_leased",
        "lease_until",
        sqlite_where=_QUEUED_CLAIMED,
        postgresql_where=_QUEUED_CLAIMED,
    ),
    # The console's message log: keyset pages by time (all apps, or one), and its two common
    # lookups (migration 0012).
    sa.Index("ix_messages_created", "created_at", "transid"),
    sa.Index("ix_messages_app_created", "app_id", "created_at", "transid"),
    sa.Index("ix_messages_wa_id", "wa_id"),
    sa.Index("ix_messages_correlationid", "correlationid"),
)

# The messaging tier's rolling window: each customer an app reached with a template outside the
# 24-hour window, at the latest such send (wanode.pacing.tier, wanode.store.reach).
reached_customers = sa.Table(
    "reached_customers",
    metadata,
    sa.Column(
        "app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("wa_id", sa.String(32), primary_key=True),
    sa.Column("reached_at", sa.Double, nullable=False),
    sa.Index("ix_reached_customers_app_id_reached_at", "app_id", "reached_at"),
)

# Append-only history; one row per (message, status).
status_events = sa.Table(
    "status_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("transid", sa.String(36), sa.ForeignKey("messages.transid"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("occurred_at", sa.Double, nullable=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_title", sa.Text),
    sa.Column("error_details", sa.Text),
    # Also finds a message's history by its transid (migration 0014 dropped the index on
    # transid alone).
    sa.UniqueConstraint("transid", "status"),
    # The console overview's per-minute chart (migration 0012).
    sa.Index("ix_status_events_occurred_at", "occurred_at"),
)

# Status webhooks are stored here first: they may arrive before the send that produced the
# wamid has been recorded, so they wait here until their message is known.
webhook_statuses = sa.Table(
    "webhook_statuses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("phone_number_id", sa.String(40), nullable=False),
    sa.Column("wamid", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("occurred_at", sa.Double, nullable=False),
    sa.Column("recipient_id", sa.String(32)),
    sa.Column("identity_key_hash", sa.Text),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_title", sa.Text),
    sa.Column("error_details", sa.Text),
    sa.Column("received_at", sa.Double, nullable=False),
    # The recipient's business-scoped user id, from the webhook's `contacts` (wanode.policy.bsuid).
    sa.Column("recipient_user_id", sa.String(140)),
    sa.UniqueConstraint("wamid", "status"),
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("wamid", sa.String(128), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("wa_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("occurred_at", sa.Double, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Index("ix_inbound_messages_wa_id", "wa_id"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("wa_id", sa.String(32), primary_key=True),
    sa.Column("profile_name", sa.Text),
    sa.Column("identity_key_hash", sa.Text),
    sa.Column("last_inbound_at", sa.Double),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    # The caller's own key for the customer (destination type `customerid`).
    sa.Column("customer_id", sa.String(128)),
    sa.Column("opt_in_status", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("opt_in_source", sa.Text),
    sa.Column("opted_in_at", sa.Double),
    sa.Column("opted_out_at", sa.Double),
    sa.Column("attributes", sa.JSON),
    # The app whose key wrote the profile (customer_id, attributes); NULL: written with an
    # admin key, seen by admin keys only and sendable from every app.
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="SET NULL")),
    sa.Index("ix_contacts_customer_id", "customer_id", unique=True),
    sa.Index("ix_contacts_app_id", "app_id"),
)

# A contact's business-scoped user id (BSUID) as one app's webhooks give it: WhatsApp scopes a
# BSUID to a business, so the same number has one per app, and one BSUID names one number.
contact_bsuids = sa.Table(
    "contact_bsuids",
    metadata,
    sa.Column(
        "app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("wa_id", sa.String(32), primary_key=True),
    sa.Column("bsuid", sa.String(140), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_contact_bsuids_app_id_bsuid", "app_id", "bsuid", unique=True),
)

# Where inbound events are forwarded (reference/webex-connect.md §4), signed with `secret`.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id")),  # NULL: every app
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("events", sa.JSON),  # NULL: every event
    sa.Column("created_at", sa.Double, nullable=False),
)

# The outbox of subscriber calls. Rows for one (subscription, wa_id) go in `id` order.
# Outbox rows still to deliver (store/_outbox.py), for partial indexes.
PENDING_ONLY = sa.text("state = 'pending'")

event_deliveries = sa.Table(
    "event_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.String(40), nullable=False),
    sa.Column("wa_id", sa.String(32), nullable=False),
    sa.Column("wamid", sa.String(128), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("lease_until", sa.Double),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double),
    sa.UniqueConstraint("subscription_id", "wamid"),
    sa.Index("ix_event_deliveries_pending", "state", "next_attempt_at"),
    sa.Index("ix_event_deliveries_thread", "subscription_id", "wa_id"),
    # The claim's "no earlier pending event in this thread" probe reads only pending rows.
    sa.Index(
        "ix_event_deliveries_pending_thread",
        "subscription_id",
        "wa_id",
        "id",
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    ),
)

# Media customers sent, downloaded through the gateway (bytes kept under the media directory).
inbound_media = sa.Table(
    "inbound_media",
    metadata,
    sa.Column("media_id", sa.String(128), primary_key=True),
    sa.Column("wamid", sa.String(128), nullable=False),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("mime_type", sa.String(128)),
    sa.Column("sha256", sa.String(128)),
    sa.Column("size", sa.BigInteger),
    sa.Column("path", sa.Text),  # NULL until downloaded
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
)

# wa.me links with prefilled text and their QR codes.
entry_points = sa.Table(
    "entry_points",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("prefilled_message", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

# The outbox of notify-URL calls. Rows of one message are delivered in `id` order.
dr_deliveries = sa.Table(
    "dr_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("transid", sa.String(36), sa.ForeignKey("messages.transid"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # The message's app (whose signing applies) and auth profile, copied when the DR is queued
    # so the notifier needs no join.
    sa.Column("app_id", sa.String(40)),
    sa.Column("auth_id", sa.String(64)),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("lease_until", sa.Double),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double),
    sa.Index("ix_dr_deliveries_pending", "state", "next_attempt_at"),
    sa.Index("ix_dr_deliveries_transid", "transid"),
    # The claim's "no earlier pending DR of this message" probe reads only pending rows: with
    # the (state) index alone, PostgreSQL's plan scanned every pending row per candidate.
    sa.Index(
        "ix_dr_deliveries_pending_thread",
        "transid",
        "id",
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    ),
)

# The template registry: WhatsApp's message templates as last seen (sync, status webhooks, or
# created through wanode). A template belongs to a WABA; `app_id` is the app whose credentials
# manage it, and every app of the same WABA may send it. `definition` is the Graph object.
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("parameter_format", sa.String(16), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("rejected_reason", sa.Text),
    sa.Column("quality", sa.String(16)),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    # NULL: known from a status webhook only, its definition not fetched yet (never sent).
    sa.Column("synced_at", sa.Double),
    sa.UniqueConstraint("app_id", "name", "language"),
)

# Flows: the current definition of each flow, and every version ever deployed.
flows = sa.Table(
    "flows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE")),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("whatsapp_trigger", sa.Boolean, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

flow_versions = sa.Table(
    "flow_versions",
    metadata,
    sa.Column("flow_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

# A run is a row: waiting costs no task. `wait_*` and `deadline` are copies of the state's wait,
# kept as columns so the runner finds what to wake with an index.
flow_runs = sa.Table(
    "flow_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("flow_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("app_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("node", sa.String(64), nullable=False),
    sa.Column("contact", sa.String(32)),
    sa.Column("wait_kind", sa.String(16)),
    sa.Column("wait_transid", sa.String(36)),
    sa.Column("wait_contact", sa.String(32)),
    sa.Column("wait_status", sa.String(16)),  # the awaited message's status the run last saw
    sa.Column("deadline", sa.Double),
    sa.Column("lease_until", sa.Double),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_flow_runs_due", "wait_kind", "deadline"),
    sa.Index("ix_flow_runs_wait_transid", "wait_transid"),
    sa.Index("ix_flow_runs_wait_contact", "app_id", "wait_contact"),
    sa.Index("ix_flow_runs_flow_contact", "flow_id", "status", "contact"),
)

flow_history = sa.Table(
    "flow_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("node", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(128), nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_flow_history_run_id", "run_id", "id"),
)

# WhatsApp events waiting to be matched to runs (Receive) and flows (Start triggers); written in
# the webhook's transaction, so none is lost between the webhook and the runner.
flow_inbox = sa.Table(
    "flow_inbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(40), nullable=False),
    sa.Column("wa_id", sa.String(32), nullable=False),
    sa.Column("wamid", sa.String(128), nullable=False, unique=True),
    sa.Column("event", sa.JSON, nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
)

# Which run and node queued a message: for Wait For, and for taps on its buttons.
flow_sends = sa.Table(
    "flow_sends",
    metadata,
    sa.Column("transid", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("node", sa.String(64), nullable=False),
)

# Short links (wanode.messages.links): one per (message, URL), written with the message. A
# redirect reads a row by its code; a click is written later, off the request path.
short_links = sa.Table(
    "short_links",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("transid", sa.String(36), nullable=False),
    sa.Column("app_id", sa.String(40), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("short_url", sa.Text, nullable=False),
    # trackClicks: a click is reported (Clicked DR, subscriber event); otherwise only counted.
    sa.Column("track", sa.Boolean, nullable=False),
    sa.Column("tag1", sa.Text),
    sa.Column("tag2", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("ix_short_links_transid", "transid"),
)

link_clicks = sa.Table(
    "link_clicks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("click_id", sa.String(40), nullable=False, unique=True),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("transid", sa.String(36), nullable=False),
    sa.Column("clicked_at", sa.Double, nullable=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
    sa.Index("ix_link_clicks_code", "code"),
)

# Notify-URL auth profiles (the Messaging API's `notifyurlAuthId`, wanode.notify.auth): what a
# DR post carries to a receiver that demands credentials. `params` holds the kind's plain
# parameters, `secrets` its secret ones as sealed JSON (wanode.store.keyring).
notify_auth_profiles = sa.Table(
    "notify_auth_profiles",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("secrets", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)
