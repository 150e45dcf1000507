"""The runner: which connections are due, each served under its leases within the time budget,
and the invocation's answer built from their outcomes."""

from sync.serve.runner.invocation import Runner
from sync.serve.runner.outcomes import Invocation

__all__ = ["Invocation", "Runner"]
