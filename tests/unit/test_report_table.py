"""The report a person reads on a terminal labels its counts with words."""

from __future__ import annotations

import io

from rich.console import Console

from sync.engine import RunReport
from sync.serve.report_table import LABELS, print_report


def test_a_report_on_a_terminal_says_in_words_what_each_count_is() -> None:
    report = RunReport("acme", "r1", "incremental", False, "2026-01-01T00:00:00+00:00")
    report.companies_read, report.read, report.created, report.still_failing = 300, 3000, 2579, 2
    screen = io.StringIO()
    print_report(Console(file=screen, force_terminal=True, width=200, color_system=None), report)
    cells = [line.split("│") for line in screen.getvalue().splitlines() if line.count("│") == 3]
    rows = {cell[1].strip(): cell[2].strip() for cell in cells}
    assert rows["companies read"] == "300"
    assert rows["contacts read"] == "3,000"
    assert rows["created in Google"] == "2,579"
    assert rows["still refused (sent again once changed in Teamleader)"] == "2"
    assert len(rows) > len(LABELS)
    assert not [label for label in rows if "_" in label], "a field's name where a person reads"
