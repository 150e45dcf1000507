"""The sync engine: one connection's run, from Teamleader's changes to its destinations' persons."""

from sync.engine.options import DestinationConfig, EngineOptions
from sync.engine.report import ConnectionReport, RunReport
from sync.engine.run import Engine

__all__ = ["ConnectionReport", "DestinationConfig", "Engine", "EngineOptions", "RunReport"]
