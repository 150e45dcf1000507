locals {
  # The OAuth apps' client ids and secrets, by kind (sync/secrets/port.py `client_secret_name`):
  # Teamleader's integration and Google's "Desktop app" client (`connect --client-id` or
  # `--client-file` fills them), and Google's "Web application" client of the people's page
  # (README). Token secrets are not listed here: `connect` and the page create them, with the
  # deployment's prefix.
  client_secrets = {
    teamleader = "${local.secret_prefix}teamleader-oauth-client"
    google     = "${local.secret_prefix}google-oauth-client"
    google-web = "${local.secret_prefix}google-web-oauth-client"
  }
  app_secrets = values(local.client_secrets)
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

# The runtime only reads the OAuth clients: all of them, as a person's Google refresh token is
# refreshed with the client that issued it (the CLI's Desktop app or the page's Web application).
resource "google_secret_manager_secret_iam_member" "runtime_client_access" {
  for_each  = google_secret_manager_secret.app
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
