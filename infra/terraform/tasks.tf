# Each due connection's run is a Cloud Tasks task (SYNC_DISPATCH=tasks): the tick enqueues, the
# sync function runs one connection per task. The queue's limits are the deployment's knobs,
# kept consistent with the function: one request per instance, so never more runs dispatched at
# once than instances, less one kept free for the tick, "Sync now" and the receiver's hand-offs
# (Cloud Scheduler does not retry a tick that finds no instance).
resource "google_cloud_tasks_queue" "runs" {
  name     = "${var.name}-runs"
  location = var.region

  rate_limits {
    max_concurrent_dispatches = max(1, var.function_max_instances - 1)
    max_dispatches_per_second = var.tasks_dispatches_per_second
  }

  # A busy connection (409) or a failed instance is tried again after 30 s, 60 s, 120 s, then
  # every 240 s: a run's lease is kept for the function's timeout at most.
  retry_config {
    max_attempts  = var.tasks_max_attempts
    min_backoff   = "30s"
    max_backoff   = "240s"
    max_doublings = 3
  }

  depends_on = [time_sleep.apis_settle]
}

# The identity of the tasks' OIDC tokens: it may invoke the sync function and nothing else.
resource "google_service_account" "tasks" {
  account_id   = "${var.name}-tasks"
  display_name = "Teamleader → Google Contacts sync (Cloud Tasks invoker)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_cloud_run_service_iam_member" "tasks_invoker" {
  location = google_cloudfunctions2_function.sync.location
  service  = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

# Who enqueues: the sync function (ticks, continuations), the page ("Sync now") and the
# receiver (targeted runs); on this queue only, and each may mint tokens of the tasks account
# for the tasks it creates (actAs on that account only).
locals {
  enqueuers = {
    runtime  = google_service_account.runtime.email
    page     = google_service_account.page.email
    receiver = google_service_account.receiver.email
  }
  # The sync function's address, known before it exists (its own environment cannot name its
  # service_config's uri): 2nd-gen functions answer at this address too, and accept it as
  # the OIDC audience.
  sync_function_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name}"
}

resource "google_cloud_tasks_queue_iam_member" "enqueuers" {
  for_each = local.enqueuers
  name     = google_cloud_tasks_queue.runs.name
  location = google_cloud_tasks_queue.runs.location
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${each.value}"
}

resource "google_service_account_iam_member" "enqueuers_act_as_tasks" {
  for_each           = local.enqueuers
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${each.value}"
}
