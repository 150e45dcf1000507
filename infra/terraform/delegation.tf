# Workspace domain-wide delegation, keyless. A Workspace admin authorises this account's client
# id (output `delegated_client_id`) for the scopes of output `delegated_scopes`; the sync then
# acts as each user of the team. No key is ever made: the runtime signs the account's JWTs
# through the IAM Credentials API (signBlob), a right it holds on this one account only.
resource "google_service_account" "delegate" {
  account_id   = "${var.name}-delegate"
  display_name = "Teamleader → Google Contacts sync (Workspace delegation)"
  description  = "Authorised in a Workspace's Admin console for domain-wide delegation; it has no key and no project role."
  depends_on   = [time_sleep.apis_settle]
}

resource "google_service_account_iam_member" "runtime_signs_as_delegate" {
  service_account_id = google_service_account.delegate.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

locals {
  # What the Workspace admin enters beside the client id, comma-separated as the Admin console
  # asks: a user's contacts, and a group's members read as the named admin.
  delegated_scopes = join(",", [
    "https://www.googleapis.com/auth/contacts",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
  ])
}
