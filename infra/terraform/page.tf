# The people's page: a function of its own, public (its visitors sign in with Teamleader, not
# with a Google identity; how it is opened: public.tf), where each person connects their own
# Google account. Its identity may do what the page does and nothing else: use Firestore, store
# the tokens a person gives it (their Google refresh token; a connection's Teamleader token when
# an account is first connected), read the OAuth clients it signs people in with, and ask the
# private sync function for a person's first run or "Sync now".

locals {
  # Cloud Run's deterministic address of the function's service (the service has the function's
  # name): known before the function exists, so the page can be told its own address, and the
  # redirect URIs registered with Teamleader and Google never change with a redeploy.
  page_url = "https://${var.name}-page-${data.google_project.this.number}.${var.region}.run.app"
}

resource "google_service_account" "page" {
  account_id   = "${var.name}-page"
  display_name = "Teamleader → Google Contacts sync (people's page)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "page_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.page.email}"
}

# A person's tokens go in secrets of their own, created when they first connect: creating is
# authorised on the project (the new secret's parent), so no condition on the secret's name can
# narrow it. An empty secret gives nothing away; its versions are reached only through the
# token role below, under the prefix condition.
resource "google_project_iam_custom_role" "secret_creator" {
  role_id     = "${replace(var.name, "-", "_")}_secret_creator"
  title       = "Teamleader sync secret creator"
  description = "Create the secrets a person's tokens are stored in (their versions: token_rotator)."
  permissions = ["secretmanager.secrets.create"]
  depends_on  = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "page_secret_creator" {
  project = var.project_id
  role    = google_project_iam_custom_role.secret_creator.id
  member  = "serviceAccount:${google_service_account.page.email}"
}

# Storing a token is rotating it (add a version, retire the ones before): the runtime's role,
# under the same condition, so the page too reaches no OAuth client's secret through it.
resource "google_project_iam_member" "page_token_secrets" {
  project = var.project_id
  role    = google_project_iam_custom_role.token_rotator.id
  member  = "serviceAccount:${google_service_account.page.email}"

  condition {
    title       = "${var.name} token secrets only"
    description = "Secrets named with the deployment's prefix, except the OAuth clients'."
    expression  = local.token_secrets_only
  }
}

# People sign in with Teamleader and connect Google through the Web application client: those
# two are read; the CLI's Desktop app client is not.
resource "google_secret_manager_secret_iam_member" "page_client_access" {
  for_each  = toset([local.client_secrets["teamleader"], local.client_secrets["google-web"]])
  secret_id = google_secret_manager_secret.app[each.value].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.page.email}"
}

# A person's first run and "Sync now": the page asks the sync function, as the receiver does.
resource "google_cloud_run_service_iam_member" "page_invokes_sync" {
  location = google_cloudfunctions2_function.sync.location
  service  = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.page.email}"
}

resource "google_cloudfunctions2_function" "page" {
  #checkov:skip=CKV_GCP_124:People open the page from the internet and sign in with Teamleader; the page checks that sign-in before showing or changing anything.
  name     = "${var.name}-page"
  location = var.region

  build_config {
    runtime         = "python312"
    entry_point     = "page_http"
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
    # A request exchanges an OAuth code, stores a token and may wait briefly for the sync
    # function to take a run.
    timeout_seconds                = 30
    max_instance_count             = var.page_max_instances
    min_instance_count             = 0
    service_account_email          = google_service_account.page.email
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables = {
      SYNC_DISPATCH               = "tasks"
      SYNC_TASKS_QUEUE            = google_cloud_tasks_queue.runs.id
      SYNC_TASKS_SERVICE_ACCOUNT  = google_service_account.tasks.email
      SYNC_PAGE_URL               = local.page_url
      SYNC_PAGE_ACCOUNTS          = var.page_accounts
      SYNC_SESSION_HOURS          = tostring(var.session_hours)
      SYNC_STATE_BACKEND          = "firestore"
      SYNC_FIRESTORE_PROJECT      = var.project_id
      SYNC_SECRETS_BACKEND        = "secretmanager"
      SYNC_SECRET_MANAGER_PROJECT = var.project_id
      SYNC_SECRET_PREFIX          = local.secret_prefix
      SYNC_SYNC_FUNCTION_URL      = google_cloudfunctions2_function.sync.service_config[0].uri
      SYNC_WEBHOOK_URL            = google_cloudfunctions2_function.receiver.service_config[0].uri
    }
  }

  # iam_settle waits for the page's grants too: its first visitors could be refused.
  depends_on = [time_sleep.iam_settle, google_firestore_database.state]
}
