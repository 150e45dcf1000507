variable "project_id" {
  description = "The Google Cloud project that hosts the sync."
  type        = string
}

variable "region" {
  description = "Region of the function, the scheduler job and the source bucket."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Location of the Firestore database (a region such as europe-west1, or a multi-region such as eur3)."
  type        = string
  default     = "europe-west1"
}

variable "name" {
  description = "Prefix of every resource and secret name, so that several deployments can share a project."
  type        = string
  default     = "tl-contacts-sync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "Lowercase letters, digits and dashes, 3 to 21 characters, starting with a letter."
  }
}

variable "function_memory" {
  description = "Memory of the function (Cloud Run notation)."
  type        = string
  default     = "512Mi"
}

variable "function_timeout_seconds" {
  description = "Function timeout. A run stops taking new batches a minute before it, or before Cloud Scheduler's 30-minute wait ends if that is sooner."
  type        = number
  default     = 1800

  validation {
    condition     = var.function_timeout_seconds >= 300 && var.function_timeout_seconds <= 3600
    error_message = "Between 300 and 3600 seconds (a 2nd-gen HTTP function's longest)."
  }
}

variable "function_max_instances" {
  description = "Upper bound of concurrent function instances; leases keep one writer per account whatever this is. With Cloud Tasks dispatch the queue sends one fewer run at a time, so a tick always finds an instance: 10 served every connection of bench/dispatch.py's 1,000 within 5 minutes, 3 only 61%."
  type        = number
  default     = 10
}

variable "tick_minutes" {
  description = "Cloud Scheduler fires the function this often; accounts whose turn it is are served (unfinished and failed ones at once)."
  type        = number
  default     = 5

  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30], var.tick_minutes)
    error_message = "A divisor of 60 below 60, so that the ticks fall at the same minutes every hour."
  }
}

variable "run_every_minutes" {
  description = "How often an account that synced fine is synced again."
  type        = number
  default     = 60

  validation {
    condition     = var.run_every_minutes >= 5
    error_message = "At least 5 minutes."
  }
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Europe/Brussels"
}

variable "manual_invokers" {
  description = "Members allowed to fire the function by hand with an identity token (user:…, group:… or serviceAccount:…)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.manual_invokers : can(regex("^(user|group|serviceAccount):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "Only user:, group: and serviceAccount: members: the function is never public (no allUsers, allAuthenticatedUsers or domain:)."
  }
}

variable "public_access" {
  description = "How the public functions (the webhook receiver and the people's page) are opened to callers without a Google identity. \"invoker_iam_disabled\" (Google's recommended way, and the one an organisation's Domain Restricted Sharing policy allows): Cloud Run's invoker IAM check is switched off on their services with gcloud, which must be installed and signed in where Terraform applies. \"all_users\": roles/run.invoker for allUsers, refused under Domain Restricted Sharing unless the project has an exception (README)."
  type        = string
  default     = "invoker_iam_disabled"

  validation {
    condition     = contains(["invoker_iam_disabled", "all_users"], var.public_access)
    error_message = "Either \"invoker_iam_disabled\" or \"all_users\"."
  }
}

variable "names_outside_prefix" {
  description = "Token secrets whose names lack the deployment's prefix (registered before it existed, or from a machine without SYNC_SECRET_PREFIX), e.g. [\"acme-teamleader-tokens\", \"acme-google-tokens\"]: the runtime is granted the token role on each by name. Names only: values never pass through Terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.names_outside_prefix : can(regex("^[A-Za-z0-9_-]+-tokens$", n))])
    error_message = "Names of token secrets only (ending in -tokens), not the OAuth clients' secrets."
  }
}

variable "report_retention_days" {
  description = "How long run reports are kept in Firestore before its TTL policy deletes them."
  type        = number
  default     = 90
}

variable "alert_email" {
  description = "Where alerts go (accounts to reconnect, runs failing twice in a row, no successful run in 3 hours); empty: the alerts show in Cloud Monitoring only."
  type        = string
  default     = ""
}

variable "github_owner" {
  description = "Owner of the GitHub repository the Cloud Build triggers watch (the Cloud Build GitHub app must be installed on it)."
  type        = string
  default     = ""
}

variable "github_repo" {
  description = "Name of that repository; empty: no triggers, service accounts or roles for CI are made. Set it only once the repository is connected to Cloud Build in the console (Cloud Build → Repositories (1st gen) → Connect repository): Terraform cannot connect it (provider issue #8961), and until then creating a trigger fails with \"Repository mapping does not exist\". The README applies without it first."
  type        = string
  default     = ""
}

variable "deploy_approvers" {
  description = "Who approves deploys of main, having read the plan (user: or group: members): granted roles/cloudbuild.builds.approver. Required when github_repo is set."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deploy_approvers : can(regex("^(user|group):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "People approve: user: and group: members only."
  }
}

variable "environment" {
  description = "The environment the deploy trigger applies: infra/terraform/env/ENVIRONMENT.tfvars."
  type        = string
  default     = "production"
}

variable "tf_state_bucket" {
  description = "The GCS bucket holding Terraform's state, for the deploy trigger."
  type        = string
  default     = ""
}

variable "plans_bucket" {
  description = "The GCS bucket where the plan trigger keeps every plan (plans/COMMIT_SHA/), whether or not it is approved and applied."
  type        = string
  default     = ""
}

variable "webhook_max_instances" {
  description = "Instances of the webhook receiver at most (a burst of events queues, never scales without bound)."
  type        = number
  default     = 5
}

variable "webhook_hint_cap" {
  description = "Hints kept per connection; past it a connection is read in full by its next run instead."
  type        = number
  default     = 5000
}

variable "page_accounts" {
  description = "The Teamleader accounts whose people may connect on the page (SYNC_PAGE_ACCOUNTS): their ids, comma-separated, or \"any\"; empty: nobody can connect yet."
  type        = string
  default     = ""

  validation {
    condition     = contains(["", "any"], var.page_accounts) || alltrue([for id in split(",", var.page_accounts) : can(regex("^[A-Za-z0-9_-]+$", trimspace(id)))])
    error_message = "Empty, \"any\", or account ids (letters, digits, - and _) separated by commas."
  }
}

variable "session_hours" {
  description = "How long a sign-in on the page lasts, in hours (SYNC_SESSION_HOURS)."
  type        = number
  default     = 12

  validation {
    condition     = var.session_hours >= 1 && var.session_hours <= 168 && floor(var.session_hours) == var.session_hours
    error_message = "A whole number of hours from 1 to 168 (a week)."
  }
}

variable "page_max_instances" {
  description = "Instances of the people's page at most."
  type        = number
  default     = 3

  validation {
    condition     = var.page_max_instances >= 1 && var.page_max_instances <= 100 && floor(var.page_max_instances) == var.page_max_instances
    error_message = "A whole number from 1 to 100."
  }
}

variable "tasks_dispatches_per_second" {
  description = "Runs the Cloud Tasks queue starts per second at most (its max_dispatches_per_second); an unchanged run takes a few seconds, so 5 a second keeps far ahead of 100,000 hourly connections' 28 a second only with instances to match."
  type        = number
  default     = 5
}

variable "tasks_max_attempts" {
  description = "Attempts of one run's task before Cloud Tasks gives up (the next tick enqueues the connection again while it is due)."
  type        = number
  default     = 10
}
