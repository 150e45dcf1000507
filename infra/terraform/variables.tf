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
  description = "Prefix of every resource name, so that several deployments can share a project."
  type        = string
  default     = "tl-contacts-sync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "Lowercase letters, digits and dashes, 3 to 21 characters, starting with a letter."
  }
}

variable "accounts" {
  description = "Account ids served by this deployment; each gets its two token secrets (filled by `python -m sync connect`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.accounts : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", a))])
    error_message = "Account ids are lowercase letters, digits and dashes, at most 63 characters."
  }
}

variable "group_name" {
  description = "The Google contact group the contacts are written to."
  type        = string
  default     = "Teamleader"
}

variable "function_memory" {
  description = "Memory of the function (Cloud Run notation)."
  type        = string
  default     = "512Mi"
}

variable "function_timeout_seconds" {
  description = "Function timeout; the sync stops taking new batches a minute before it."
  type        = number
  default     = 540

  validation {
    condition     = var.function_timeout_seconds >= 120 && var.function_timeout_seconds <= 1800
    error_message = "Between 120 and 1800 seconds (Cloud Scheduler's longest attempt deadline for HTTP targets)."
  }
}

variable "function_max_instances" {
  description = "Upper bound of concurrent function instances; leases keep one writer per account whatever this is."
  type        = number
  default     = 3
}

variable "schedule" {
  description = "When Cloud Scheduler fires the sync (cron syntax)."
  type        = string
  default     = "0 * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Europe/Brussels"
}

variable "manual_invokers" {
  description = "Members (user:…, group:…) allowed to fire the function by hand with an identity token."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.manual_invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "The function is never public: name users, groups or service accounts."
  }
}

variable "allow_ingress_from_internet" {
  description = "Accept requests from outside Google Cloud (needed to fire it with curl from a laptop; invokers still need an identity token). False keeps ingress internal: Cloud Scheduler still reaches it."
  type        = bool
  default     = true
}

variable "report_retention_days" {
  description = "How long run reports are kept in Firestore before its TTL policy deletes them."
  type        = number
  default     = 90
}
