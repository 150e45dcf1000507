# The production environment's settings, applied by the deploy trigger (cloudbuild-deploy.yaml)
# with -var-file=env/production.tfvars. Nothing secret goes here: OAuth clients and tokens are
# stored straight into Secret Manager by `python -m sync connect`.
project_id         = "my-sync-project"
region             = "europe-west1"
firestore_location = "eur3"

function_memory          = "512Mi"
function_timeout_seconds = 1800
function_max_instances   = 10

tick_minutes      = 5
run_every_minutes = 60
time_zone         = "Europe/Brussels"

manual_invokers = ["user:ops@example.com"]
# "all_users" only where no Domain Restricted Sharing policy applies (README, step 3).
public_access         = "invoker_iam_disabled"
report_retention_days = 90
alert_email           = "ops@example.com"

# The Cloud Build triggers. Terraform cannot connect GitHub to Cloud Build (provider issue #8961):
# until a person has connected the repository in the console (README, step 6), creating them
# fails with "Repository mapping does not exist", so the first apply leaves them out
# (-var=github_repo=) and the one after the connection makes them.
github_owner    = "example"
github_repo     = "teamleader-google-contacts-sync"
environment     = "production"
tf_state_bucket = "my-sync-project-tfstate"
plans_bucket    = "my-sync-project-plans"
# Who reads each plan of main and approves its deploy (user: or group:).
deploy_approvers = ["user:lead@example.com"]
