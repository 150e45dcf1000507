resource "google_firestore_database" "state" {
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  # Point-in-time recovery: the id map is what keeps Google free of duplicates.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  depends_on                        = [time_sleep.apis_settle]
}

# Run reports carry an expire_at timestamp; Firestore deletes them once it has passed.
resource "google_firestore_field" "report_ttl" {
  database   = google_firestore_database.state.name
  collection = "runs"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# The page's sessions carry expire_at too: Firestore deletes a session once it has lapsed (the
# page refuses a lapsed one before then). Collection `{root}-sessions`, root "accounts".
resource "google_firestore_field" "session_ttl" {
  database   = google_firestore_database.state.name
  collection = "accounts-sessions"
  field      = "expire_at"
  ttl_config {}
  index_config {}
}

# Each destination's id map is kept in shard documents (`idmap/{shard}`), every entry a field of
# the `entries` map (sync/state/idmap_firestore.py). Nothing queries inside it: exempt from
# indexing, a shard of thousands of entries makes no index entries (Firestore allows 40,000 a
# document) and its writes cost no index updates.
resource "google_firestore_field" "idmap_unindexed" {
  database   = google_firestore_database.state.name
  collection = "idmap"
  field      = "entries"
  index_config {}
}

# A connection's companies are kept in shard documents (`company_shards/{shard}`), every company
# a field of the `companies` map (sync/state/companies_firestore.py). Queries look only at the
# shard's `people` array (indexed, as every field is by default) and sum its `count`: the map is
# exempt from indexing, so a shard of a hundred companies and their people makes no index
# entries for them.
resource "google_firestore_field" "companies_unindexed" {
  database   = google_firestore_database.state.name
  collection = "company_shards"
  field      = "companies"
  index_config {}
}
