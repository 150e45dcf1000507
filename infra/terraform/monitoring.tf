locals {
  # The function's log lines are JSON (sync/logs.py): Cloud Run puts them in jsonPayload.
  function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.name}\""
  metrics = {
    # An account whose refresh token was refused (or could not be stored): a person must reconnect it.
    needs-reconnect = "jsonPayload.message=(\"a refresh token was refused: the account must be reconnected\" OR \"a rotated refresh token could not be stored; reconnect the account\")"
    # A run that failed after another failed one.
    failing = "jsonPayload.message=\"account run failed\" AND jsonPayload.failures_in_a_row>=2"
    # A run that returned (finished, or stopped at its budget and goes on at the next tick).
    synced = "jsonPayload.message=\"account synced\""
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

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "${var.name} operator"
  type         = "email"
  labels       = { email_address = var.alert_email }
  depends_on   = [time_sleep.apis_settle]
}

locals {
  channels = google_monitoring_notification_channel.email[*].id
  # Alerts on a log-based metric: any line in five minutes, per account.
  line_alerts = {
    needs-reconnect = "An account must be reconnected: run `python -m sync connect` for the side its status names."
    failing         = "An account's runs failed twice in a row or more: `GET /` or `python -m sync status` says why (error id in the logs)."
  }
}

resource "google_monitoring_alert_policy" "line" {
  for_each     = local.line_alerts
  display_name = "${var.name}: ${each.key}"
  combiner     = "OR"

  conditions {
    display_name = each.key
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.account[each.key].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.account"]
      }
    }
  }

  documentation {
    content   = each.value
    mime_type = "text/markdown"
  }

  notification_channels = local.channels
}

# No run has returned for an account in three hours (it should every hour): it is held,
# disabled by mistake, or the function is not running at all.
resource "google_monitoring_alert_policy" "stale" {
  display_name = "${var.name}: no successful run in 3 hours"
  combiner     = "OR"

  conditions {
    display_name = "stale"
    condition_absent {
      filter   = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.account["synced"].name}\""
      duration = "10800s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.account"]
      }
    }
  }

  documentation {
    content   = "No run of this account has returned in three hours. `GET /` or `python -m sync status` shows whether it is held, needs reconnecting or failing."
    mime_type = "text/markdown"
  }

  notification_channels = local.channels
}
