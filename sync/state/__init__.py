"""Sync state behind one port, with a Firestore and a SQLite adapter."""
