# Plain values, for `$(terraform output -raw NAME)`: a command inside an output would reach the
# shell as one word, its quotes and its $(...) unexpanded. The README writes the commands.
output "function_url" {
  description = "The sync function's HTTPS address (POST fires a run, GET answers every account's status)."
  value       = google_cloudfunctions2_function.sync.service_config[0].uri
}

output "runtime_service_account" {
  description = "The identity the function runs as."
  value       = google_service_account.runtime.email
}

output "operator_env" {
  description = "The settings `python -m sync accounts add` and `connect` need on an operator's machine: `eval \"$(terraform output -raw operator_env)\"`."
  value       = "export SYNC_STATE_BACKEND=firestore SYNC_FIRESTORE_PROJECT=${var.project_id} SYNC_SECRETS_BACKEND=secretmanager SYNC_SECRET_MANAGER_PROJECT=${var.project_id} SYNC_SECRET_PREFIX=${local.secret_prefix} SYNC_WEBHOOK_URL=${google_cloudfunctions2_function.receiver.service_config[0].uri}"
}

output "client_secrets" {
  description = "The secrets of the OAuth clients, filled by `python -m sync connect` and, for the page's Web application client, `gcloud secrets versions add` (README; never through Terraform)."
  value       = sort(local.app_secrets)
}

output "page_url" {
  description = "The people's page, where each person signs in with Teamleader and connects their Google account."
  value       = local.page_url
}

output "teamleader_redirect_uri" {
  description = "The redirect URL to add to the Teamleader integration for the page's sign-in."
  value       = "${local.page_url}/auth/teamleader"
}

output "google_redirect_uri" {
  description = "The authorized redirect URI of the Google \"Web application\" OAuth client."
  value       = "${local.page_url}/auth/google"
}

output "delegated_client_id" {
  description = "The client id a Workspace admin authorises for domain-wide delegation (Admin console → Security → Access and data control → API controls → Manage Domain Wide Delegation)."
  value       = google_service_account.delegate.unique_id
}

output "delegated_scopes" {
  description = "The OAuth scopes the Workspace admin enters beside the client id, comma-separated."
  value       = local.delegated_scopes
}
