"""Generator of the published contract files: JSON Schema, AsyncAPI 3.0 and golden examples.

`python -m ledger.schemagen` rewrites `contracts/schema/`; `--golden` also rewrites
`contracts/golden/`; `--check` writes nothing and exits 1 listing the files that are stale.
"""

from ledger.schemagen.files import CONTRACTS_DIR, GOLDEN_DIR, SCHEMA_DIR, golden_files, schema_files, stale

REGENERATE = ".venv/bin/python -m ledger.schemagen"
"""The command that rewrites `contracts/schema/` (add `--golden` for `contracts/golden/`)."""

__all__ = ["CONTRACTS_DIR", "GOLDEN_DIR", "REGENERATE", "SCHEMA_DIR", "golden_files", "schema_files", "stale"]
