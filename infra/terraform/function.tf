locals {
  repo_root = "${path.module}/../.."
  # Cloud Scheduler waits for an HTTP target at most 30 minutes.
  attempt_deadline_seconds = min(var.function_timeout_seconds, 1800)
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only build sources written by Terraform; access logging would log Terraform itself.
  name                        = "${var.project_id}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Each source has a name of its own (its hash), and Terraform deletes the object a new one
  # replaces; versioning keeps that object as a noncurrent version. Those go 30 days later (time
  # to go back to a recent source); the live source, which the functions name, is never touched.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.apis_settle]
}

# Only what the functions run: main.py, requirements.txt and the sync package (its modules, and
# the page's templates and stylesheet).
data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/source.zip"

  dynamic "source" {
    for_each = setunion(
      ["main.py", "requirements.txt"],
      fileset(local.repo_root, "sync/**/*.py"),
      fileset(local.repo_root, "sync/**/*.html"),
      fileset(local.repo_root, "sync/**/*.css"),
    )
    content {
      content  = file("${local.repo_root}/${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "sync" {
  #checkov:skip=CKV_GCP_124:The webhook receiver calls it over its public address (it has no VPC egress) and people fire it with curl; every request still needs an identity token of a named invoker (no allUsers).
  name     = var.name
  location = var.region

  build_config {
    runtime         = "python312"
    entry_point     = "sync_http"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.function_memory
    timeout_seconds                  = var.function_timeout_seconds
    max_instance_count               = var.function_max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.runtime.email
    # Not internal-only: Cloud Scheduler would still reach it, but the webhook receiver, a Cloud
    # Run service without VPC egress, calls its run.app address from outside any VPC, which
    # internal ingress refuses. Every request needs an invoker's identity token.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables = {
      SYNC_DISPATCH               = "tasks"
      SYNC_TASKS_QUEUE            = google_cloud_tasks_queue.runs.id
      SYNC_TASKS_SERVICE_ACCOUNT  = google_service_account.tasks.email
      SYNC_SYNC_FUNCTION_URL      = local.sync_function_url
      SYNC_STATE_BACKEND          = "firestore"
      SYNC_FIRESTORE_PROJECT      = var.project_id
      SYNC_SECRETS_BACKEND        = "secretmanager"
      SYNC_SECRET_MANAGER_PROJECT = var.project_id
      SYNC_SECRET_PREFIX          = local.secret_prefix
      # The account whose JWTs the runtime signs for Workspace delegation (delegation.tf).
      SYNC_DELEGATION_SERVICE_ACCOUNT = google_service_account.delegate.email
      # A run stops taking new batches a minute before the function's timeout, and before
      # Cloud Scheduler stops waiting for it.
      SYNC_TIME_BUDGET_SECONDS   = tostring(local.attempt_deadline_seconds - 60)
      SYNC_LEASE_SECONDS         = tostring(var.function_timeout_seconds)
      SYNC_RUN_EVERY_MINUTES     = tostring(var.run_every_minutes)
      SYNC_TICK_MINUTES          = tostring(var.tick_minutes)
      SYNC_REPORT_RETENTION_DAYS = tostring(var.report_retention_days)
    }
  }

  depends_on = [time_sleep.iam_settle, google_firestore_database.state]
}

# Invoking a 2nd-gen function is invoking its Cloud Run service: only these members may.
resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  location = google_cloudfunctions2_function.sync.location
  service  = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_service_iam_member" "manual_invokers" {
  for_each = toset(var.manual_invokers)
  location = google_cloudfunctions2_function.sync.location
  service  = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = each.value
}
