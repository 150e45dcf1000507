locals {
  # The OAuth apps' client ids and secrets (`connect --client-id` or `--client-file` fills them).
  # Token secrets are not listed here: `connect` creates them, with the deployment's prefix.
  app_secrets = ["${local.secret_prefix}teamleader-oauth-client", "${local.secret_prefix}google-oauth-client"]
}

# Created empty; their values never pass through Terraform.
resource "google_secret_manager_secret" "app" {
  for_each  = toset(local.app_secrets)
  secret_id = each.value

  replication {
    auto {}
  }

  labels     = { app = var.name }
  depends_on = [time_sleep.apis_settle]
}

# The runtime only reads the OAuth clients.
resource "google_secret_manager_secret_iam_member" "runtime_client_access" {
  for_each  = google_secret_manager_secret.app
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
