"""Ledger services; they never import each other, only contracts/ and ledger/."""
