# Alerting policies on the metrics of monitoring.tf, mailed to alert_email. Each one waits for
# its metric to be known to alerting (time_sleep.metrics_settle).

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "${var.name} operator"
  type         = "email"
  labels       = { email_address = var.alert_email }
  depends_on   = [time_sleep.apis_settle]
}

locals {
  channels = google_monitoring_notification_channel.email[*].id
  # Alerts on a line that comes: any line in five minutes (per account for the function's).
  per_account = {
    needs-reconnect = "An account must be reconnected: run `python -m sync connect` for the side its status names."
    failing         = "An account's runs failed twice in a row or more: `GET /` or `python -m sync status` says why (error id in the logs)."
    overdue         = "An account has had no ordinary run for over three hours (or never ran since it was added): it is held, waits to be reconnected, its runs die before they return, or the ticks never reach it. `python -m sync status` shows which; the function's logs show runs that did not return."
  }
  line_alerts = merge(
    { for name, doc in local.per_account : name => {
      resource = "cloud_run_revision", metric = google_logging_metric.account[name].name, by = ["metric.label.account"], doc = doc
    } },
    # The function never ran, or stopped running: Cloud Scheduler logged a failed tick.
    { tick-failed = {
      resource = "cloud_scheduler_job", metric = google_logging_metric.tick_failed.name, by = []
      doc      = "Cloud Scheduler's tick did not reach a working function: refused (403: the scheduler's invoker grant), failed (5xx, the function's logs say why) or not answered within the attempt deadline. Cloud Scheduler → the job → its logs show which."
    } },
  )
}

resource "google_monitoring_alert_policy" "line" {
  for_each     = local.line_alerts
  display_name = "${var.name}: ${each.key}"
  combiner     = "OR"

  conditions {
    display_name = each.key
    condition_threshold {
      filter          = "resource.type=\"${each.value.resource}\" AND metric.type=\"logging.googleapis.com/user/${each.value.metric}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = each.value.by
      }
    }
  }

  documentation {
    content   = each.value.doc
    mime_type = "text/markdown"
  }

  notification_channels = local.channels
  depends_on            = [time_sleep.metrics_settle]
}

# Ticks that ran and then stopped (the job paused or deleted): no tick line for an hour. An
# invocation works at most 29 minutes and the next tick starts when it ends, so an hour
# without one is no slow run.
resource "google_monitoring_alert_policy" "no_ticks" {
  display_name = "${var.name}: no scheduled tick in an hour"
  combiner     = "OR"

  conditions {
    display_name = "no-ticks"
    condition_absent {
      filter   = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.tick.name}\""
      duration = "3600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "No scheduled tick has reached the function for an hour: is the Cloud Scheduler job paused or gone? A tick that fails raises its own alert."
    mime_type = "text/markdown"
  }

  notification_channels = local.channels
  depends_on            = [time_sleep.metrics_settle]
}
