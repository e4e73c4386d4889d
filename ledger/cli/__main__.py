"""`python -m ledger.cli` = the `ledger` console script."""

from __future__ import annotations

import sys

from ledger.cli import main

sys.exit(main())
