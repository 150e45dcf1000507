# Log-based metrics: what the function and Cloud Scheduler log, counted. The alerts on them are
# in alerts.tf.
locals {
  # The function's log lines are JSON (sync/logs.py): Cloud Run puts them in jsonPayload.
  function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.name}\""
  # Three metrics with an `account` label (one series per account that logged such a line).
  metrics = {
    # An account whose refresh token was refused (or could not be stored), or whose Workspace refused
    # the delegation: a person must reconnect it, or an admin authorise it again.
    needs-reconnect = "jsonPayload.message=(\"a refresh token was refused: the account must be reconnected\" OR \"a rotated refresh token could not be stored; reconnect the account\" OR \"the Workspace refused the delegation: an admin must authorise it again\")"
    # A run that failed after another failed one.
    failing = "jsonPayload.message=\"account run failed\" AND jsonPayload.failures_in_a_row>=2"
    # Named by every scheduled tick while an enabled account goes without an ordinary run past
    # SYNC_OVERDUE_HOURS (3), one that never ran counted from when it was added
    # (sync/serve/runner/heartbeat.py). A line that comes, not one that stops: an alert on a metric's absence
    # never fires for an account that never had a point.
    overdue = "jsonPayload.message=\"account overdue: no ordinary run for longer than it should have taken\""
  }
}

resource "google_logging_metric" "account" {
  for_each = local.metrics
  name     = "${var.name}-${each.key}"
  filter   = "${local.function_logs} AND ${each.value}"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "account"
      value_type  = "STRING"
      description = "The account the line is about."
    }
  }

  label_extractors = {
    account = "EXTRACT(jsonPayload.account)"
  }

  depends_on = [time_sleep.apis_settle]
}

# One line from every scheduled tick the function serves: it runs.
resource "google_logging_metric" "tick" {
  name   = "${var.name}-tick"
  filter = "${local.function_logs} AND jsonPayload.message=\"scheduled tick\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }

  depends_on = [time_sleep.apis_settle]
}

# Cloud Scheduler's own log of a tick the function refused, failed or did not answer in time.
# A function that never ran shows here from its first tick, where it has no line to miss.
resource "google_logging_metric" "tick_failed" {
  name   = "${var.name}-tick-failed"
  filter = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=\"${var.name}\" AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }

  depends_on = [time_sleep.apis_settle]
}

# Alerting learns of a new log-based metric minutes after it is made: an alert policy created at
# once fails with "Cannot find metric(s) … it could take up to 10 minutes to become available"
# (provider issue #11102). The alerts wait that long, again whenever a metric is added.
resource "time_sleep" "metrics_settle" {
  create_duration = "600s"
  triggers = {
    metrics = join(",", sort(concat(
      [for metric in google_logging_metric.account : metric.name],
      [google_logging_metric.tick.name, google_logging_metric.tick_failed.name],
    )))
  }
}
