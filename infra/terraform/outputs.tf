output "function_url" {
  description = "The function's HTTPS address."
  value       = google_cloudfunctions2_function.sync.service_config[0].uri
}

output "curl_command" {
  description = "Fires the sync by hand (you must be one of manual_invokers); add ?account=ID&mode=full as needed."
  value       = "curl -X POST -H \"Authorization: Bearer $(gcloud auth print-identity-token)\" \"${google_cloudfunctions2_function.sync.service_config[0].uri}\""
}

output "runtime_service_account" {
  description = "The identity the function runs as."
  value       = google_service_account.runtime.email
}

output "secrets" {
  description = "The secrets to fill with `python -m sync connect` (their values never pass through Terraform)."
  value       = sort(local.secrets)
}
