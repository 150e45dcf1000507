# The webhook receiver: a function of its own, public (Teamleader cannot present a Google
# identity; how it is opened: public.tf), whose only credential is the per-connection secret in
# each address. It reads the
# account records and writes hints in Firestore, and asks the private sync function for a
# targeted run; it holds no token and no secret.

resource "google_service_account" "receiver" {
  account_id   = "${var.name}-hooks"
  display_name = "Teamleader → Google Contacts sync (webhook receiver)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "receiver_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.receiver.email}"
}

resource "google_cloudfunctions2_function" "receiver" {
  #checkov:skip=CKV_GCP_124:Teamleader posts webhooks from the internet; the address's secret is the credential.
  name     = "${var.name}-hooks"
  location = var.region

  build_config {
    runtime         = "python312"
    entry_point     = "receive_webhook"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = "256M"
    # The receiver reads a request's body (at most 64 KB) within a read deadline of about 5 s,
    # then waits 2 s for the sync function to take the targeted run: the timeout must cover
    # both, or Cloud Run cuts a slow but honest delivery short.
    timeout_seconds                = 10
    max_instance_count             = var.webhook_max_instances
    min_instance_count             = 0
    service_account_email          = google_service_account.receiver.email
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables = {
      SYNC_DISPATCH              = "tasks"
      SYNC_TASKS_QUEUE           = google_cloud_tasks_queue.runs.id
      SYNC_TASKS_SERVICE_ACCOUNT = google_service_account.tasks.email
      SYNC_STATE_BACKEND         = "firestore"
      SYNC_FIRESTORE_PROJECT     = var.project_id
      SYNC_SYNC_FUNCTION_URL     = google_cloudfunctions2_function.sync.service_config[0].uri
      SYNC_WEBHOOK_HINT_CAP      = tostring(var.webhook_hint_cap)
    }
  }

  depends_on = [time_sleep.iam_settle, google_firestore_database.state]
}

# The receiver may ask the sync function for a targeted run, as the scheduler asks for a tick.
resource "google_cloud_run_service_iam_member" "receiver_invokes_sync" {
  location = google_cloudfunctions2_function.sync.location
  service  = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.receiver.email}"
}

output "webhook_url" {
  description = "The receiver's address: SYNC_WEBHOOK_URL for `python -m sync webhooks address`."
  value       = google_cloudfunctions2_function.receiver.service_config[0].uri
}
