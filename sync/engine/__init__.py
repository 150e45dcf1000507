"""The sync engine: one account's run, from Teamleader's changes to Google's persons."""

from sync.engine.options import AccountConfig, EngineOptions
from sync.engine.report import RunReport
from sync.engine.run import Engine

__all__ = ["AccountConfig", "Engine", "EngineOptions", "RunReport"]
