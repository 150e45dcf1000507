terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.10"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.6"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }

  # State lives in a GCS bucket named at `terraform init -backend-config=bucket=...`.
  backend "gcs" {
    prefix = "teamleader-google-contacts-sync"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
