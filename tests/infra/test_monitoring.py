"""The operator is told when it breaks: log-based metrics on the lines the code writes, alerts
that wait for their metrics, and for what never happens (an account never synced, a function
never run) a line that comes rather than a series that stops."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sync.serve.runner import heartbeat
from tests.infra.hcl import ROOT, depends_on, load, local, resources, terraform_value

ALERTS = ("needs-reconnect", "failing", "overdue")


def _unquoted(hcl_string: str) -> str:
    """A string as Terraform reads it: python-hcl2 keeps the escapes of the source."""
    return hcl_string.replace('\\"', '"')


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def test_metrics_count_the_very_lines_the_code_logs(tf: dict[str, Any]) -> None:
    """A reworded log line fails here rather than silencing an alert."""
    metrics = local(tf, "metrics")
    assert list(metrics) == list(ALERTS)
    code = "".join(path.read_text() for path in sorted((ROOT / "sync" / "serve" / "runner").glob("*.py")))
    quoted = {name: re.findall(r'\\?"([a-z][^"\\]+)\\?"', log_filter) for name, log_filter in metrics.items()}
    assert [len(messages) for messages in quoted.values()] == [3, 1, 1]
    for name, messages in quoted.items():
        for message in messages:
            assert f'"{message}"' in code, f"{name}: {message!r} is not logged by the code"
    assert quoted["overdue"] == [heartbeat.OVERDUE]
    assert "failures_in_a_row>=2" in metrics["failing"]
    metric = resources(tf, "google_logging_metric")["account"]
    assert metric["label_extractors"]["account"] == "EXTRACT(jsonPayload.account)"
    tick = resources(tf, "google_logging_metric")["tick"]
    assert _unquoted(tick["filter"]).endswith(f'jsonPayload.message="{heartbeat.TICK}"')
    assert "labels" not in tick["metric_descriptor"][0]


def _line_alerts(tf: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The threshold alerts as Terraform builds them, over stand-ins for the metrics' names."""
    per_account = json.dumps(local(tf, "per_account"))
    stand_ins = f"""locals {{
  per_account = {per_account}
  metric      = {{ for name in keys(local.per_account) : name => {{ name = "m-${{name}}" }} }}
  tick_failed = {{ name = "m-tick-failed" }}
}}"""
    built = local(tf, "line_alerts").replace("google_logging_metric.account[", "local.metric[")
    built = built.replace("google_logging_metric.tick_failed.name", "local.tick_failed.name")
    value: dict[str, Any] = terraform_value(built, workdir, stand_ins)
    return value


def test_a_function_that_never_ran_is_seen_in_cloud_schedulers_own_log(tf: dict[str, Any], tmp_path: Path) -> None:
    failed = resources(tf, "google_logging_metric")["tick_failed"]
    assert _unquoted(failed["filter"]) == (
        'resource.type="cloud_scheduler_job" AND resource.labels.job_id="${var.name}" AND severity>=ERROR'
    )
    job = resources(tf, "google_cloud_scheduler_job")["tick"]
    assert job["name"] == "${var.name}", "the filter names the job by the deployment's name"
    alert = _line_alerts(tf, tmp_path)["tick-failed"]
    assert (alert["resource"], alert["metric"], alert["by"]) == ("cloud_scheduler_job", "m-tick-failed", [])


def test_alerts_fire_on_lines_that_come_and_on_ticks_that_stop(tf: dict[str, Any], tmp_path: Path) -> None:
    policies = resources(tf, "google_monitoring_alert_policy")
    assert set(policies) == {"line", "no_ticks"}
    alerts = _line_alerts(tf, tmp_path)
    assert set(alerts) == {*ALERTS, "tick-failed"}
    for name in ALERTS:
        assert alerts[name]["resource"] == "cloud_run_revision" and alerts[name]["metric"] == f"m-{name}"
        assert alerts[name]["by"] == ["metric.label.account"], "one alert per account"
    line = policies["line"]["conditions"][0]["condition_threshold"][0]
    assert line["aggregations"][0]["group_by_fields"] == "${each.value.by}"
    assert "${each.value.resource}" in line["filter"] and "${each.value.metric}" in line["filter"]
    assert (line["comparison"], line["threshold_value"]) == ("COMPARISON_GT", 0)
    # The one absence left is of the tick line, a single series that exists once the function
    # has run: no account's series has to have had a point.
    absent = policies["no_ticks"]["conditions"][0]["condition_absent"][0]
    assert "google_logging_metric.tick.name" in absent["filter"] and absent["duration"] == "3600s"
    assert "condition_absent" not in policies["line"]["conditions"][0]
    channel = resources(tf, "google_monitoring_notification_channel")["email"]
    assert channel["labels"] == {"email_address": "${var.alert_email}"}
    for policy in policies.values():
        assert policy["notification_channels"] == "${local.channels}"


def test_alerts_wait_until_their_metrics_are_known(tf: dict[str, Any]) -> None:
    """Provider issue #11102: a policy made right after its log-based metric is refused."""
    settle = tf["resource"]["time_sleep"]["metrics_settle"]
    assert settle["create_duration"] == "600s"
    watched = settle["triggers"]["metrics"]
    for metric in ("google_logging_metric.account", "google_logging_metric.tick.name", "tick_failed.name"):
        assert metric in watched, metric
    for name, policy in resources(tf, "google_monitoring_alert_policy").items():
        assert "time_sleep.metrics_settle" in depends_on(policy), name
