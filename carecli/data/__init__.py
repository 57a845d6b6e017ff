"""Data in and out: export, import, search, backup and checks."""
