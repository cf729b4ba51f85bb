"""The one settings object. Read once at start (env prefix WANODE_) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANODE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/wanode.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema (which must exist) holding wanode's tables; unset: the "
        "database's default search path.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="Half the PostgreSQL connections a process may open: it opens up to twice "
        "this many, as concurrency needs them, and keeps every one open (closing a peak's "
        "extra connections made the next peak connect again, transaction after transaction). "
        "Every API and worker process has its own pool: keep the sum of twice their sizes "
        "under the server's max_connections.",
    )
    database_ping_idle_after: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a pooled PostgreSQL connection may sit unused before it is pinged "
        "(a round trip) when next taken from the pool, to replace it if the server or a proxy "
        "dropped it meanwhile. A connection used more recently is handed out without a ping; "
        "one the driver already saw closed is replaced without one. 0: ping every reused "
        "connection.",
    )
    sqlite_driver: Literal["inline", "aiosqlite"] = Field(
        default="inline",
        description="How SQLite is reached: 'inline' runs its calls on the event loop's thread "
        "(no thread hand-off, a third of the CPU a transaction costs), 'aiosqlite' in a thread "
        "per connection (the loop stays free during long statements).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key encrypting the secrets wanode stores (access tokens, app "
        "secrets, verify tokens, subscription secrets), or several separated by commas: the "
        "first encrypts, every one decrypts (rotation: docs/security.md). Unset: the key file.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the key when WANODE_SECRET_KEY is unset, created 0600 on the "
        "first start; unset: the SQLite database's path plus '.key', or var/wanode.key on "
        "PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None,
        description="Base URL WhatsApp (or the sandbox) uses to reach this service's webhooks; "
        "defaults to http://HOST:PORT.",
    )
    short_link_domains: str = Field(
        default="",
        description="Domains a send's `options.domain` may name for its short links (host names "
        "or base URLs, https:// unless given, separated by commas), each routed to this "
        "service's /l/ path; empty: WANODE_PUBLIC_URL (or http://HOST:PORT) only.",
    )
    log_level: str = "info"
    log_json: bool = False

    # Gateway defaults for apps that do not override them.
    graph_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    gateway_timeout: float = 10.0

    # The in-process sandbox mounted under /sandbox by `wanode serve`.
    sandbox: bool = True
    sandbox_url: str | None = Field(
        default=None,
        description="Where a process without the in-process sandbox (`wanode worker`) reaches "
        "the one an API process mounts, e.g. http://127.0.0.1:8080/sandbox, for apps on the "
        "built-in sandbox; `serve --workers` sets it for its workers.",
    )
    sandbox_sent_delay: float = 0.3
    sandbox_delivered_delay: float = 1.0
    sandbox_read_delay: float = 2.0
    sandbox_throughput_mps: float | None = Field(
        default=80.0,
        ge=0,
        description="Messages a second the sandbox takes per number before answering 130429 "
        "(Meta's default, 80); 0 lifts the limit.",
    )
    sandbox_pair_limit: bool = Field(
        default=True,
        description="The sandbox answers 131056 past one message per 6 s to a customer (after "
        "a burst of 45), as WhatsApp does; false lifts it.",
    )
    sandbox_marketing_limit: int = Field(
        default=2,
        ge=0,
        description="Marketing templates a sandbox customer gets in 24 h without writing before "
        "the next fails with 131049 (Meta's per-user limit); 0 lifts it.",
    )
    sandbox_spam_limit: int = Field(
        default=5,
        ge=0,
        description="Blocks and spam reports of a sandbox number in 7 days that restrict it "
        "(its messages fail with 131048); 0: never.",
    )
    sandbox_template_pause_signals: int = Field(
        default=3,
        ge=0,
        description="Blocks and spam reports after one template that pause it (3 h, then 6 h, "
        "then disabled); 0: never.",
    )
    sandbox_webhook_batch: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Statuses and messages waiting for one number's webhook URL that the "
        "sandbox sends together in one POST (Meta batches up to 1,000); 1 sends each alone.",
    )
    sandbox_enforce_window: bool = Field(
        default=True,
        description="The sandbox fails a free-form message to a handset that has not written "
        "in the last 24 hours with 131047, as WhatsApp does; false lets any message through "
        "(e.g. for load tests).",
    )
    sandbox_identity_check: bool = Field(
        default=False,
        description="Every sandbox number starts with Meta's identity-change check on, so "
        "webhooks carry the users' identity key hashes; off, as at Meta, until "
        "POST /{phone-number-id}/settings turns it on.",
    )
    sandbox_fault_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of send requests the sandbox answers with an injected fault (a 500, "
        "a 503 with code 2, 130429, a timeout before or after accepting, a connection reset); "
        "0 injects none. See WANODE_SANDBOX_FAULT_KINDS.",
    )
    sandbox_fault_kinds: str = Field(
        default="",
        description="The faults to inject and their weights, e.g. 'server_error,reset_before:2' "
        "(server_error, unavailable, rate_limit, timeout_before, timeout_after, reset_before, "
        "reset_after); empty: all alike.",
    )
    sandbox_fault_seed: int | None = Field(
        default=None,
        description="Seed of the fault draws: the same seed injects the same sequence of faults.",
    )
    sandbox_fault_hang: float = Field(
        default=15.0,
        ge=0,
        description="Seconds an injected timeout holds the request: longer than the client's "
        "timeout (WANODE_GATEWAY_TIMEOUT).",
    )
    sandbox_template_review_delay: float = Field(
        default=1.0,
        ge=0,
        description="Seconds a template created in the sandbox stays PENDING before its "
        "review approves or rejects it.",
    )
    sandbox_fetch_media: bool = Field(
        default=True,
        description="The sandbox fetches each media link, as WhatsApp does, and fails the "
        "message with 131053 when it is unreachable, not found, too large or not the declared "
        "kind. It fetches from this machine (loopback) only; false takes links on trust.",
    )
    sandbox_media_fetch_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds the sandbox's fetch of one media link may take in total.",
    )
    sandbox_state: str | None = Field(
        default=None,
        description="The SQLite file `wanode serve`'s sandbox keeps its state in (numbers, "
        "templates, handsets, windows, inboxes, media, pending statuses), so a restart loses "
        "nothing. Unset: beside the SQLite database (`wanode.db` -> `wanode-sandbox.db`), or "
        "var/wanode-sandbox.db with PostgreSQL; `:memory:` or `off` keeps it in memory only.",
    )

    # Dispatcher.
    worker: bool = True
    dispatch_batch: int = 100
    dispatch_concurrency: int = Field(
        default=48,
        ge=1,
        description="Sends on their way at once per app (business number). A send's slot "
        "covers recording that it began (a transaction shared with other sends), pacing's "
        "wait and the gateway's answer: enough slots hide the commit's latency.",
    )
    dispatch_lease_seconds: float = 60.0
    dispatch_max_attempts: int = 8
    dispatch_backoff_base: float = 1.0
    dispatch_backoff_max: float = 300.0
    poll_interval: float = 0.25
    idle_poll_max: float = Field(
        default=2.0,
        gt=0,
        description="Seconds a loop that keeps finding nothing may wait between passes: its "
        "wait doubles from poll_interval up to this. A wake-up (new work) cuts it short and "
        "resets it; what only time makes due (retries, holds, flow timeouts) may wait this long "
        "more.",
    )
    pass_spacing: float = Field(
        default=0.05,
        ge=0,
        description="Shortest time in seconds between the starts of two passes of an engine "
        "loop (dispatch, statuses, DRs, forwarding, flows) when the second is brought by a "
        "wake-up: the wake-ups that come within it are served by one pass. At a modest rate "
        "each pass then carries several messages instead of one, and its fixed cost (a "
        "transaction, a claim, task hand-offs) is shared; each loop adds at most this much "
        "to a message's way (the dispatch, status and DR loops: up to pass_spacing_max at a "
        "modest rate). A pass that filled its batch is followed at once; the first "
        "wake-up after a quiet spell is served at once. 0: every wake-up is served at once.",
    )
    pass_spacing_max: float = Field(
        default=0.2,
        ge=0,
        description="Longest spacing in seconds for the dispatch, status and DR loops: while "
        "their passes find little work (fewer than 25 items at the rate they come), each waits "
        "up to this long after a pass for more, so that at a modest rate (tens of messages a "
        "second) a pass carries some ten messages and a message costs about a quarter less "
        "CPU; each of those loops then adds at most this much to a message's way. Under a "
        "campaign the spacing is pass_spacing; at a trickle every wake-up is still served at "
        "once. Not above pass_spacing: a fixed pass_spacing.",
    )
    flow_pass_spacing: float = Field(
        default=0.01,
        ge=0,
        description="pass_spacing for the flows loop alone: a customer's reply resumes its "
        "flow run at most this much later than at once. Shorter than the others because a "
        "person waits on it, and flow passes are few (one per reply at most) where a "
        "campaign's sends, statuses and DRs come by the thousand.",
    )

    # Pacing: keep sends under WhatsApp's throughput and pair limits (wanode.pacing).
    pacing: bool = Field(
        default=True,
        description="Hold a message that would exceed the per-number or per-pair rate until "
        "the bucket allows it, instead of letting WhatsApp refuse it (130429 / 131056).",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://... shared by every worker for the pacing buckets; unset: each "
        "process paces on its own (right for one worker).",
    )
    pacing_number_mps: float = Field(
        default=80.0,
        ge=1,
        le=1000,
        description="Messages a second per business number (80 by default, up to 1,000 for "
        "upgraded numbers, 20 for coexistence numbers).",
    )
    pacing_pair_interval: float = Field(
        default=6.0,
        gt=0,
        description="Seconds between two messages to one customer from one number, once the "
        "burst is spent.",
    )
    pacing_pair_burst: int = Field(
        default=45,
        ge=1,
        description="Messages one customer may get at once from an idle pair; each is paid "
        "back by one interval of quiet.",
    )
    messaging_tier: Annotated[int, Field(ge=1)] | Literal["unlimited"] = Field(
        default=250,
        description="New customers an app may reach with templates outside the 24-hour window "
        "in a rolling 24 hours (Meta's tiers: 250, 2000, 10000, 100000, unlimited); past it "
        "such messages are held, not failed. Apps override it (`messaging_tier`).",
    )

    # Delivery reports to notify URLs (reference/webex-connect.md §3).
    notify_timeout: float = 10.0
    notify_retries: int = 3
    notify_retry_interval: float = 60.0
    # Mutual TLS to notify URLs (webex-connect.md §3: "mTLS is supported"): the client
    # certificate (PEM, with its chain) and key wanode presents to an https notify URL that
    # asks for one, and an extra CA bundle to trust for receivers with a private CA.
    notify_client_cert: Path | None = None
    notify_client_key: Path | None = None
    notify_ca_file: Path | None = None

    # Media preflight: fetch a media link and check it before WhatsApp does.
    media_preflight: bool | None = Field(
        default=None,
        description="Fetch each media link and check its real type, size and (stickers) "
        "dimensions before sending, failing the message with 7701/7861 on a bad file. "
        "Unset: on for apps on the sandbox gateway, off for apps on the Cloud API.",
    )
    media_preflight_timeout: float = Field(
        default=10.0,
        description="Seconds one media fetch may take in total, connecting included.",
    )
    media_preflight_cache_seconds: float = Field(
        default=300.0,
        description="Seconds a link's verdict is reused, so a campaign fetches its media once.",
    )

    # Inbound media: what customers send is downloaded here and served at /v1/media/{id}.
    media_dir: Path = Field(
        default=Path("var/media"),
        description="Directory inbound media files are downloaded to (one subdirectory per "
        "app). API and worker processes must share it.",
    )
    inbound_media_max_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1,
        description="Largest inbound media file downloaded; a larger one is recorded as failed.",
    )
    media_link_ttl: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="Seconds the signed media links of inbound events (an attachment's `url`, "
        "the flows' imageUrl...) stay valid after the customer sent the message; they need no "
        "API key. Their base is WANODE_PUBLIC_URL (or http://HOST:PORT).",
    )
    inbound_media_attempts: int = Field(
        default=4,
        ge=1,
        description="Tries of one download when WhatsApp cannot be reached or answers a "
        "retryable error, before it is recorded as failed.",
    )
    inbound_media_retry_interval: float = Field(
        default=2.0,
        description="Seconds before the first retry of a download; doubled for each next one.",
    )

    # Webhook statuses whose message is not known yet are kept this long before being dropped.
    orphan_status_ttl: float = 3600.0

    allow_private_urls: bool | None = Field(
        default=None,
        description="Let URLs from users (notify and subscriber URLs, media links, flows' HTTP "
        "requests, an app's graph_base_url) reach addresses that are not globally reachable "
        "(loopback, private, link-local, shared, ...: the IANA special-purpose registries). "
        "Unset: allowed when the in-process sandbox runs (local development), refused "
        "otherwise.",
    )

    policy_window: bool = Field(
        default=True,
        description="Refuse free-form messages outside the 24-hour customer-care window (7710) "
        "before they reach WhatsApp; false leaves the decision to WhatsApp.",
    )

    template_sync_interval: float = Field(
        default=900.0,
        ge=0,
        description="Seconds between two syncs of every WABA's templates into the registry "
        "(the first at start); 0 turns the periodic sync off. Status webhooks update the "
        "registry at once either way.",
    )

    max_request_bytes: int = 4 * 1024 * 1024
    request_body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request body may take to arrive once the API starts reading it; "
        "past them the request is answered 408 and its connection closed.",
    )
    keep_alive_timeout: int = Field(
        default=5,
        ge=1,
        description="Seconds an idle HTTP connection is kept open for the client's next request.",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request's headers may take to arrive, from their first byte (or "
        "from the connection's opening); past them the connection is closed.",
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Bytes a request's headers may take; more is answered 431.",
    )

    protect_docs: bool = Field(
        default=False,
        description="Require a key for /openapi.json, /docs and /redoc (any valid key or JWT) "
        "and for /metrics (an admin key).",
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="Connections and requests a process serves at once; past them a request is "
        "answered 503 (uvicorn's limit_concurrency), so a flood cannot exhaust memory or files.",
    )

    @field_validator("sandbox_fault_kinds")
    @classmethod
    def _known_faults(cls, value: str) -> str:
        if value.strip():
            from wanode.sandbox.faults import parse_kinds  # the sandbox only when asked for

            parse_kinds(value)  # ValueError: names the bad kind or weight
        return value

    def private_urls_allowed(self) -> bool:
        return self.sandbox if self.allow_private_urls is None else self.allow_private_urls

    def webhook_url(self) -> str:
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/webhooks/whatsapp"

    def short_link_domain_list(self) -> list[str]:
        """The short-link domains as configured, or the public URL when none is."""
        listed = [d.strip() for d in self.short_link_domains.split(",") if d.strip()]
        return listed or [self.public_url or f"http://{self.host}:{self.port}"]

    def secret_key_path(self) -> Path:
        if self.secret_key_file is not None:
            return self.secret_key_file
        database = self.sqlite_path()
        if database is not None and database.name and database.name != ":memory:":
            return database.with_name(database.name + ".key")
        return Path("var/wanode.key")

    def sandbox_state_file(self) -> str | None:
        """Where `wanode serve`'s sandbox keeps its state; None: in memory only."""
        if self.sandbox_state is not None:
            off = self.sandbox_state.strip() in ("", ":memory:", "off")
            return None if off else self.sandbox_state
        database = self.sqlite_path()
        if database is None:
            return str(Path("var/wanode-sandbox.db"))
        if not database.name or database.name == ":memory:":
            return None
        return str(database.with_name(database.stem + "-sandbox.db"))

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None
