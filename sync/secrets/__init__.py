"""Per-account OAuth tokens and the OAuth apps' credentials, behind one port."""
