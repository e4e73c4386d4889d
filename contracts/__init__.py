"""Published contract of the planning-bureau ledger: events, commands, receipts, subjects (data only)."""
