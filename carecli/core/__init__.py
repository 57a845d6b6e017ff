"""The ground floor: errors and exit codes, settings, the database connection and transactions, safe output files."""
