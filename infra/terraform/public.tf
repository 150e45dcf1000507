# The functions that callers without a Google identity must reach: Teamleader's webhooks (the
# secret in each address is their credential) and the people's page (its visitors sign in with
# Teamleader). var.public_access chooses how they are opened; everything else stays private.
locals {
  public_functions = {
    hooks = google_cloudfunctions2_function.receiver
    page  = google_cloudfunctions2_function.page
  }
}

# "all_users": the invoker role for allUsers. An organisation's Domain Restricted Sharing policy
# (iam.allowedPolicyMemberDomains, enforced by default in organisations created since May 2024)
# refuses this member: the apply fails with "do not belong to a permitted customer".
resource "google_cloud_run_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:Teamleader's webhooks and the page's visitors present no Google identity; the receiver checks the 256-bit secret in each address before reading anything, the page a Teamleader sign-in before showing anything.
  for_each = { for key, function in local.public_functions : key => function if var.public_access == "all_users" }
  location = each.value.location
  service  = each.value.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

moved {
  from = google_cloud_run_service_iam_member.receiver_public
  to   = google_cloud_run_service_iam_member.public["hooks"]
}

# "invoker_iam_disabled": Cloud Run's invoker IAM check switched off on the function's service,
# Google's recommended way to open a service, and the one Domain Restricted Sharing allows.
# Terraform cannot set it: the Cloud Functions API has no such field (google_cloudfunctions2_function
# has no invoker_iam_disabled, provider issue #23360); a google_cloud_run_v2_service would fight
# Cloud Functions over the service the function owns, and its build_config starts no build
# (#22263), so neither public function can become a Cloud Run service without an image pipeline. The
# documented gcloud command is run instead, again after every change of the function in case its
# redeploy puts the check back. gcloud must be installed and signed in where Terraform applies
# (cloudbuild-deploy.yaml applies in the google-cloud-cli image). Turning back to "all_users"
# leaves the check off until `gcloud run services update SERVICE --invoker-iam-check` (public
# either way).
resource "terraform_data" "invoker_iam_check_off" {
  for_each = { for key, function in local.public_functions : key => function if var.public_access == "invoker_iam_disabled" }
  input = {
    service = each.value.name
    region  = each.value.location
    project = var.project_id
  }
  triggers_replace = [each.value.update_time]

  provisioner "local-exec" {
    command = "gcloud run services update ${self.input.service} --project=${self.input.project} --region=${self.input.region} --no-invoker-iam-check --quiet"
  }
}
