"""The ledger's Postgres projection: schema, fold, batched writer, catalog, certificate, checkpoints.

Shared (not under services/) because the projector service, the `ledger` CLI (replay, show,
history, verify, export) and the read API all need the same table definitions and fold.
"""
