"""Teamleader Focus → Google Contacts sync."""
