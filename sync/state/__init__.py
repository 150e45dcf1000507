"""Sync state behind one port (`port`: the protocols, one per family of records), its records
and their JSON by family (`connections`, `idmap`, `companies`, `hints`), and two adapters
(`firestore`, `sqlite`)."""
