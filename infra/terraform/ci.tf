locals {
  ci_enabled = var.github_repo != ""
  # Everything `terraform apply` of this configuration creates or changes, and nothing more.
  # The README lists the same roles.
  deployer_roles = [
    "roles/artifactregistry.admin",
    "roles/cloudbuild.builds.editor",
    "roles/cloudfunctions.admin",
    "roles/cloudscheduler.admin",
    "roles/datastore.owner",
    "roles/iam.roleAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/logging.configWriter",
    "roles/logging.logWriter",
    "roles/monitoring.editor",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
  ]
}

# Pull requests and branches: the tests and `terraform validate`, with no access to anything
# but the build's own logs.
resource "google_service_account" "ci" {
  count        = local.ci_enabled ? 1 : 0
  account_id   = "${var.name}-ci"
  display_name = "Teamleader → Google Contacts sync (checks)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "ci_logs" {
  count   = local.ci_enabled ? 1 : 0
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.ci[0].email}"
}

# main: plan, and apply once a person has approved it (the two triggers below).
resource "google_service_account" "deployer" {
  count        = local.ci_enabled ? 1 : 0
  account_id   = "${var.name}-deploy"
  display_name = "Teamleader → Google Contacts sync (deployer)"
  depends_on   = [time_sleep.apis_settle]
}

resource "google_project_iam_member" "deployer" {
  for_each = toset(local.ci_enabled ? local.deployer_roles : [])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.deployer[0].email}"
}

# Checks run on every pull request and on every push to a branch other than main.
resource "google_cloudbuild_trigger" "checks" {
  for_each        = toset(local.ci_enabled ? ["pull-requests", "branches"] : [])
  name            = "${var.name}-${each.key}"
  location        = "global"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.ci[0].id

  github {
    owner = var.github_owner
    name  = var.github_repo

    dynamic "pull_request" {
      for_each = each.key == "pull-requests" ? [1] : []
      content {
        branch = ".*"
      }
    }

    dynamic "push" {
      for_each = each.key == "branches" ? [1] : []
      content {
        branch       = "^main$"
        invert_regex = true
      }
    }
  }
}

# main, in two builds: the plan, shown and kept; then, once a person named in deploy_approvers
# has read it and approved, the apply of that very plan. approval_required holds a build before
# its first step, so the plan cannot be in the build that waits: it is a build of its own.
resource "google_cloudbuild_trigger" "plan" {
  count           = local.ci_enabled ? 1 : 0
  name            = "${var.name}-plan"
  location        = "global"
  filename        = "cloudbuild-plan.yaml"
  service_account = google_service_account.deployer[0].id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = "^main$"
    }
  }

  substitutions = {
    _ENV             = var.environment
    _TF_STATE_BUCKET = var.tf_state_bucket
    _PLANS_BUCKET    = var.plans_bucket
  }
}

resource "google_cloudbuild_trigger" "deploy" {
  count           = local.ci_enabled ? 1 : 0
  name            = "${var.name}-deploy"
  location        = "global"
  filename        = "cloudbuild-deploy.yaml"
  service_account = google_service_account.deployer[0].id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = "^main$"
    }
  }

  approval_config {
    approval_required = true
  }

  substitutions = {
    _TF_STATE_BUCKET = var.tf_state_bucket
    _PLANS_BUCKET    = var.plans_bucket
  }

  lifecycle {
    precondition {
      condition     = length(var.deploy_approvers) > 0
      error_message = "Name who approves deploys (deploy_approvers): a deploy waits for an approval nobody else is granted."
    }
  }
}

# Who may approve (or reject) a waiting deploy, having read its plan.
resource "google_project_iam_member" "deploy_approvers" {
  for_each = toset(local.ci_enabled ? var.deploy_approvers : [])
  project  = var.project_id
  role     = "roles/cloudbuild.builds.approver"
  member   = each.value
}
