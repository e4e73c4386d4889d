"""`python -m services.notify`: run the notify service with settings from the environment."""

from __future__ import annotations

import asyncio
import logging

from ledger.settings import load_settings
from services.notify.service import run

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(load_settings()))
