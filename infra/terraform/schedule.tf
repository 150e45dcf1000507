# A tick every few minutes: an account that synced fine is served once per
# run_every_minutes, one whose run is unfinished (a first run of many contacts) or failed
# goes on at the next tick, so that a new account is complete within minutes.
resource "google_cloud_scheduler_job" "tick" {
  name             = var.name
  region           = var.region
  schedule         = "*/${var.tick_minutes} * * * *"
  time_zone        = var.time_zone
  attempt_deadline = "${local.attempt_deadline_seconds}s"

  # The next tick is the retry: a failed one is not fired again in between.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.sync.service_config[0].uri
    body        = base64encode(jsonencode({ scheduled = true }))
    headers     = { "Content-Type" = "application/json" }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.sync.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invoker]
}
