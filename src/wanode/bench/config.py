"""What one benchmark run does: how many messages, on which databases, how hard."""

from __future__ import annotations

from dataclasses import dataclass

DATABASES = ("sqlite", "postgresql")
# The measurements that can be left out (`wanode bench --skip`): the 50 msg/s lifecycle, the
# 1,000-destination request's latency, two wanode processes on PostgreSQL, the idle server.
OPTIONAL = ("paced", "latency1000", "workers", "idle")


@dataclass(frozen=True)
class BenchConfig:
    """`messages` is N, sent once per measurement (single-destination requests, 1,000-destination
    requests, pywa, bare httpx). Business numbers share N evenly; each is paced at
    `pacing_mps`, so wanode's total ceiling is `numbers * pacing_mps`.

    The sandbox's handsets answer `sent`, `delivered` and `read` after the given delays (short,
    so that the lifecycle figure measures wanode, not the simulated customer).

    Besides: a lifecycle paced at `paced_rate` msg/s for `paced_seconds`; one 1,000-destination
    request's latency, idle and during a campaign of N; on PostgreSQL, the batch lifecycle
    with two `wanode serve` processes; and an idle server's CPU over `idle_seconds`. `skip`
    leaves any of those out (names in OPTIONAL).
    """

    messages: int = 10_000
    databases: tuple[str, ...] = DATABASES
    numbers: int = 4
    concurrency: int = 64
    # The httpx-based peers (pywa, bare httpx) at their best on this machine: more connections
    # make httpx's pool slower, not faster (see loads.sandbox_ceiling).
    peer_concurrency: int = 16
    peer_connections: int = 8
    latency_rate: float = 500.0
    latency_seconds: float = 6.0
    pacing_mps: float = 1000.0
    sent_delay: float = 0.05
    delivered_delay: float = 0.1
    read_delay: float = 0.15
    postgres_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    phase_timeout: float = 600.0
    paced_rate: float = 50.0
    paced_seconds: float = 10.0
    idle_seconds: float = 10.0
    skip: frozenset[str] = frozenset()
    # py-spy on `wanode serve` during the lifecycles: wanode's CPU split by component.
    profile: bool = False

    def __post_init__(self) -> None:
        if self.messages < 1:
            raise ValueError("messages must be at least 1")
        if self.numbers < 1:
            raise ValueError("numbers must be at least 1")
        unknown = sorted(set(self.databases) - set(DATABASES))
        if unknown:
            raise ValueError(f"unknown database {unknown[0]!r}")
        unknown = sorted(self.skip - set(OPTIONAL))
        if unknown:
            raise ValueError(f"unknown measurement {unknown[0]!r} (of {', '.join(OPTIONAL)})")
        if self.paced_rate <= 0 or self.paced_seconds <= 0 or self.idle_seconds <= 0:
            raise ValueError("paced_rate, paced_seconds and idle_seconds must be positive")
