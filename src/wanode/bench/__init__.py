"""`wanode bench`: wanode's throughput and latency against the sandbox, beside a bare Cloud API
client (pywa) and the sandbox's own ceiling. See bench/RESULTS.md for figures."""

from wanode.bench.config import BenchConfig
from wanode.bench.runner import run_bench

__all__ = ["BenchConfig", "run_bench"]
