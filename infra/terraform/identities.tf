locals {
  # Every secret of the deployment starts with this (SYNC_SECRET_PREFIX): the token secrets of
  # every account, however many are added after deployment, and the OAuth clients.
  secret_prefix = "${var.name}-"
  secrets_path  = "projects/${data.google_project.this.number}/secrets/${local.secret_prefix}"
  # What Cloud Build needs to build the function, as the provider's documentation lists it
  # for a function's own build service account.
  build_roles = ["roles/logging.logWriter", "roles/artifactregistry.writer", "roles/storage.objectAdmin"]
  # The IAM condition of the token role, for the runtime and the page alike: the deployment's
  # secrets, less every OAuth client's (each name in full: "google-oauth-client" is no prefix of
  # "google-web-oauth-client").
  token_secrets_only = join(" && ", concat(
    ["resource.name.startsWith(\"${local.secrets_path}\")"],
    [for name in sort(local.app_secrets) : "!resource.name.startsWith(\"projects/${data.google_project.this.number}/secrets/${name}\")"],
  ))
}

resource "google_service_account" "runtime" {
  account_id   = "${var.name}-run"
  display_name = "Teamleader → Google Contacts sync (runtime)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_service_account" "scheduler" {
  account_id   = "${var.name}-invoke"
  display_name = "Teamleader → Google Contacts sync (Cloud Scheduler invoker)"
  depends_on   = [time_sleep.apis_settle]
}

# The function's own build identity: new projects have no usable default one (the Compute
# Engine default account may not exist, or exist without roles).
resource "google_service_account" "build" {
  account_id   = "${var.name}-build"
  display_name = "Teamleader → Google Contacts sync (function build)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "build" {
  for_each = toset(local.build_roles)
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.build.email}"
}

resource "google_project_iam_member" "runtime_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Rotating a refresh token: read the latest version, add one, then disable the one before and
# destroy older ones (superseded versions are billed like live ones).
resource "google_project_iam_custom_role" "token_rotator" {
  role_id     = "${replace(var.name, "-", "_")}_token_rotator"
  title       = "Teamleader sync token rotator"
  description = "Read and rotate the versions of the sync's token secrets."
  permissions = [
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.disable",
    "secretmanager.versions.list",
  ]
  depends_on = [time_sleep.apis_settle]
}

# Granted on the project under a condition rather than secret by secret, so that an account
# added with `accounts add` and `connect` syncs at the next run without another apply: the
# deployment's secrets, less the OAuth clients' (read only, below).
resource "google_project_iam_member" "runtime_token_secrets" {
  project = var.project_id
  role    = google_project_iam_custom_role.token_rotator.id
  member  = "serviceAccount:${google_service_account.runtime.email}"

  condition {
    title       = "${var.name} token secrets only"
    description = "Secrets named with the deployment's prefix, except the OAuth clients'."
    expression  = local.token_secrets_only
  }
}

# Token secrets registered before the prefix existed (or from a machine without
# SYNC_SECRET_PREFIX) keep their names, which the condition above leaves out: each is granted by
# name, so those accounts sync without being connected again.
resource "google_secret_manager_secret_iam_member" "runtime_tokens_outside_prefix" {
  for_each  = toset(var.names_outside_prefix)
  secret_id = "projects/${data.google_project.this.number}/secrets/${each.value}"
  role      = google_project_iam_custom_role.token_rotator.id
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

# IAM changes take a while to reach every service: a build or a first request made at once
# can be refused.
resource "time_sleep" "iam_settle" {
  create_duration = "60s"
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_firestore,
    google_project_iam_member.runtime_token_secrets,
    google_secret_manager_secret_iam_member.runtime_client_access,
    google_secret_manager_secret_iam_member.runtime_tokens_outside_prefix,
    google_project_iam_member.page_firestore,
    google_project_iam_member.page_secret_creator,
    google_project_iam_member.page_token_secrets,
    google_secret_manager_secret_iam_member.page_client_access,
    google_service_account_iam_member.runtime_signs_as_delegate,
  ]
}
