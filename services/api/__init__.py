"""The read API: HTTP + JSON over the Postgres ledger, the dashboard page, health and metrics."""
