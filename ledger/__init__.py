"""Shared code of the ledger services: event log client, calendar, settings, runtime and CLI."""
