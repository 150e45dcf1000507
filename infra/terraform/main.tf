locals {
  services = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "people.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
  app_secrets     = ["teamleader-oauth-client", "google-oauth-client"]
  account_secrets = flatten([for a in var.accounts : ["${a}-teamleader-tokens", "${a}-google-tokens"]])
  secrets         = concat(local.app_secrets, local.account_secrets)
  repo_root       = "${path.module}/../.."
}

resource "google_project_service" "enabled" {
  for_each           = toset(local.services)
  service            = each.value
  disable_on_destroy = false
}

# ---- state ----

resource "google_firestore_database" "state" {
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  # Point-in-time recovery: the id map is what keeps Google free of duplicates.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  depends_on                        = [google_project_service.enabled]
}

# Run reports carry an expire_at timestamp; Firestore deletes them once it has passed.
resource "google_firestore_field" "report_ttl" {
  database   = google_firestore_database.state.name
  collection = "runs"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# ---- identities ----

resource "google_service_account" "runtime" {
  account_id   = "${var.name}-run"
  display_name = "Teamleader → Google Contacts sync (runtime)"
}

resource "google_service_account" "scheduler" {
  account_id   = "${var.name}-invoke"
  display_name = "Teamleader → Google Contacts sync (Cloud Scheduler invoker)"
}

resource "google_project_iam_member" "runtime_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "runtime_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# ---- secrets: created empty; values never pass through Terraform ----

resource "google_secret_manager_secret" "sync" {
  for_each  = toset(local.secrets)
  secret_id = each.value

  replication {
    auto {}
  }

  labels     = { app = var.name }
  depends_on = [google_project_service.enabled]
}

# The runtime reads its own secrets, adds versions (rotated refresh tokens) and disables the
# versions they replace; nothing on any other secret of the project.
resource "google_secret_manager_secret_iam_member" "runtime_access" {
  for_each  = google_secret_manager_secret.sync
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_versions" {
  for_each  = google_secret_manager_secret.sync
  secret_id = each.value.id
  role      = "roles/secretmanager.secretVersionManager"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

# ---- source ----

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

  lifecycle_rule {
    condition {
      num_newer_versions = 10
    }
    action {
      type = "Delete"
    }
  }
}

# Only what the function runs: main.py, requirements.txt and the sync package.
data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/source.zip"

  dynamic "source" {
    for_each = setunion(["main.py", "requirements.txt"], fileset(local.repo_root, "sync/**/*.py"))
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

# ---- the function ----

resource "google_cloudfunctions2_function" "sync" {
  #checkov:skip=CKV_GCP_124:Ingress from the internet is a variable (allow_ingress_from_internet) so that people can fire it with curl; every request still needs an identity token of an invoker (no allUsers).
  name     = var.name
  location = var.region

  build_config {
    runtime     = "python312"
    entry_point = "sync_http"
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
    ingress_settings                 = var.allow_ingress_from_internet ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    environment_variables = {
      SYNC_STATE_BACKEND          = "firestore"
      SYNC_FIRESTORE_PROJECT      = var.project_id
      SYNC_SECRETS_BACKEND        = "secretmanager"
      SYNC_SECRET_MANAGER_PROJECT = var.project_id
      SYNC_GROUP_NAME             = var.group_name
      SYNC_TIME_BUDGET_SECONDS    = tostring(var.function_timeout_seconds - 60)
      SYNC_LEASE_SECONDS          = tostring(var.function_timeout_seconds)
      SYNC_REPORT_RETENTION_DAYS  = tostring(var.report_retention_days)
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.runtime_firestore,
    google_secret_manager_secret_iam_member.runtime_access,
  ]
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

# ---- the schedule ----

resource "google_cloud_scheduler_job" "hourly" {
  name             = var.name
  region           = var.region
  schedule         = var.schedule
  time_zone        = var.time_zone
  attempt_deadline = "${var.function_timeout_seconds}s"

  retry_config {
    retry_count          = 2
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.sync.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.sync.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invoker]
}
