"""One way to open a NATS connection from Settings (URL, identity, inbox prefix)."""

from __future__ import annotations

import nats
from nats.aio.client import Client as NATS

from ledger.settings import ConfigError, Settings


async def connect(
    settings: Settings,
    *,
    name: str = "ledger",
    user: str | None = None,
    password: str | None = None,
    inbox_prefix: str | None = None,
    reconnect: bool = True,
) -> NATS:
    """Connect with the settings' identity (LEDGER_NATS_USER/PASSWORD) unless one is given."""
    if settings.nats_url is None:
        raise ConfigError("Config 'LEDGER_NATS_URL' is not set. Start the system with 'ledger up' or set it.")
    kwargs: dict[str, object] = {}
    if inbox_prefix is not None:
        kwargs["inbox_prefix"] = inbox_prefix
    return await nats.connect(
        settings.nats_url,
        name=name,
        user=user if user is not None else settings.nats_user,
        password=password if password is not None else settings.nats_password,
        connect_timeout=5,
        allow_reconnect=reconnect,
        max_reconnect_attempts=-1 if reconnect else 0,
        **kwargs,
    )
