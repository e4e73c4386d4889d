"""`python -m services.api`: serve the read API and the dashboard on LEDGER_API_PORT (default 8080)."""

from __future__ import annotations

import logging

import uvicorn

from ledger.settings import load_settings
from services.api.app import create_app

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning",
                lifespan="on")
