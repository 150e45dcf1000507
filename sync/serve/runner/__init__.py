"""The runner: which connections are due, each served under its leases within the time budget,
and the invocation's answer built from their outcomes."""

from sync.serve.runner.invocation import Invocation, Runner

__all__ = ["Invocation", "Runner"]
