"""What a run says while it goes, and how often: sentences, the log's pace, the terminal's
countdown. Clocks are driven by hand."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console, Group

from sync.progress import Count, Step, Wait, duration
from sync.serve.progress_line import ProgressLine
from sync.serve.progress_log import LogProgress

READING = Step("companies", 180, Count(0), {"default": 0}, {"created": 0})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_and_steps_are_said_in_words() -> None:
    assert [duration(s) for s in (0.2, 12, 60, 125.5)] == ["1 s", "12 s", "1 min", "2 min 6 s"]
    assert Wait("teamleader_limit", 12, 200).sentence() == (
        "waiting for Teamleader's limit (200 calls a minute), resuming in 12 s"
    )
    assert Wait("google_throttled", 4).sentence() == "Google asked to slow down, retrying in 4 s"
    assert Wait("teamleader_refused", 30).sentence(left=2.5) == "Teamleader asked to slow down, retrying in 3 s"
    writing = Step("writing", 300, Count(1200, 2000), {"u1": 2, "u2": 3}, {"created": 1000, "skipped": 7})
    assert writing.doing() == "writing to Google for 2 users"
    assert writing.done() == (
        "companies 300 · contacts 1,200 of 2,000 · 5 batches written · created 1,000 · updated 0 · deleted 0"
        " · unchanged 0 · skipped 7 · failed 0"
    )
    assert READING.done().startswith("companies 180 · contacts 0 · 0 batches written")


def test_the_log_says_where_the_run_stands_every_few_seconds_and_each_long_wait_as_it_begins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    sink = LogProgress(clock=clock, interval=5)
    with caplog.at_level(logging.INFO, logger="sync.progress"):
        sink.step(READING)  # the first: logged
        clock.now += 1
        sink.step(READING)  # too soon
        sink.waiting(Wait("teamleader_limit", 0.3, 200))  # short: a step's news
        sink.waiting(Wait("teamleader_limit", 40, 200))  # long: said at once
        clock.now += 1
        sink.waiting(Wait("teamleader_limit", 39, 200))  # the same wait, said again: too soon
        clock.now += 5
        sink.step(READING)  # due
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "reading companies; " + READING.done(),
        "reading companies; "
        + READING.done()
        + "; waiting for Teamleader's limit (200 calls a minute), resuming in 40 s",
        "reading companies; " + READING.done(),
    ]
    facts = caplog.records[1].progress  # type: ignore[attr-defined]
    assert facts["waiting"] == {"cause": "teamleader_limit", "seconds": 40}
    assert facts["phase"] == "companies" and facts["companies_read"] == 180 and facts["contacts_total"] is None


def test_the_terminal_counts_a_wait_down_then_shows_the_time_left() -> None:
    clock = Clock()
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    line = ProgressLine("acme", console, clock=clock)
    line.step(Step("contacts", 300, Count(0, 2000), {"default": 0}, {}, seconds_left=30))
    assert line.notice() == "about 30 s left"
    line.waiting(Wait("teamleader_limit", 12, 200))
    console.print(Group(*line.get_renderables()))
    shown = screen.getvalue()
    assert "acme: reading contacts" in shown
    assert "contacts 0 of 2,000" in shown
    assert "waiting for Teamleader's limit (200 calls a minute), resuming in 12 s" in shown
    clock.now += 7.5
    assert line.notice() == "waiting for Teamleader's limit (200 calls a minute), resuming in 5 s"
    clock.now += 5
    assert line.notice() == "about 18 s left"
    clock.now += 18
    assert line.notice() == ""
