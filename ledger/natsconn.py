"""One way to open a NATS connection from Settings (URL, identity, inbox prefix)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from ledger.runtime.auth import inbox_prefix
from ledger.settings import Settings
from ledger.waits import within

NATS_TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError,
    nats.js.errors.ServiceUnavailableError, nats.js.errors.NoStreamResponseError, ConnectionError, TimeoutError,
)
"""NATS failures that pass by themselves (unreachable for a while, a stream leader election): retry.
NoStreamResponseError is js.publish's NoRespondersError: no stream took the message (its leader was
just killed, a new one is not elected yet), so nothing was written.
Not nats.errors.Error as a whole: that also holds permanent ones (payload too large, a bad subject, an
API error such as a bad request), which a retry only repeats."""


def url_of(settings: Settings) -> str:
    """The configured URL, else the embedded server `ledger up` starts on this machine."""
    return settings.nats_url or f"nats://127.0.0.1:{settings.nats_port}"


def auth_dir(settings: Settings) -> Path:
    """Where `ledger up` keeps generated credentials (service passwords, demo sources)."""
    return settings.data_dir / "auth"


def sources_file(settings: Settings) -> Path:
    return settings.sources_file or auth_dir(settings) / "sources.toml"


def operator_identity(settings: Settings) -> tuple[str | None, str | None]:
    """LEDGER_NATS_USER/PASSWORD, else the admin that `ledger up` generated on this machine."""
    if settings.nats_user is not None:
        return settings.nats_user, settings.nats_password
    stored = auth_dir(settings) / "secrets.json"
    if stored.exists():
        return "admin", str(json.loads(stored.read_text())["admin"])
    return None, None


def own_inbox(user: str | None) -> str | None:
    """The identity's own reply inbox (auth.inbox_prefix) when its name is one subject token, else None."""
    if user and user.replace("_", "").replace("-", "").isalnum() and user.isascii():
        return inbox_prefix(user)
    return None


async def connect(
    settings: Settings,
    *,
    name: str = "ledger",
    user: str | None = None,
    password: str | None = None,
    inbox_prefix: str | None = None,
    reconnect: bool = True,
    error_cb: Callable[[Exception], Awaitable[None]] | None = None,
) -> NATS:
    """Connect with the settings' identity (LEDGER_NATS_USER/PASSWORD) unless one is given.

    Replies come to the identity's own inbox, `_INBOX.<user>`, unless `inbox_prefix` says otherwise:
    the server's permissions can then confine an identity to its own replies (sources, the read API).
    """
    user = user if user is not None else settings.nats_user
    kwargs: dict[str, object] = {}
    prefix = inbox_prefix or own_inbox(user)
    if prefix is not None:
        kwargs["inbox_prefix"] = prefix
    if error_cb is not None:  # asynchronous errors the server sends (a permissions violation, …)
        kwargs["error_cb"] = error_cb
    return await nats.connect(
        url_of(settings),
        name=name,
        user=user,
        password=password if password is not None else settings.nats_password,
        connect_timeout=5,
        allow_reconnect=reconnect,
        max_reconnect_attempts=-1 if reconnect else 0,
        **kwargs,
    )


async def confirm_subscriptions(nc: NATS, *, within: float = 10.0) -> None:
    """Return once the server has registered every subscription `nc` has made so far.

    `Client.flush()` does not promise that: nats-py writes its PING straight to the socket, ahead
    of the commands still in its write buffer, so a SUB made just before can reach the server
    after the PONG is back (intake said it was ready and a publisher's request got 'no
    responders'). A message to our own inbox goes through that buffer behind the SUBs, and the
    server handles one connection's commands in order: when it comes back, every earlier SUB is
    in place on that server (other nodes of a cluster learn of it a moment later: publishers retry
    'no responders', see request_patiently). Needs echo (the default); raises
    nats.errors.TimeoutError after `within` seconds.
    """
    echo = await nc.subscribe(nc.new_inbox())
    try:
        await nc.publish(echo.subject, b"")
        await echo.next_msg(timeout=within)
    finally:
        await echo.unsubscribe()


async def request_patiently(nc: NATS, subject: str, body: bytes, *, within: float) -> Msg:
    """A request that retries 'no responders' with a bounded back-off until `within` seconds are up.

    'No responders' means nobody was subscribed when the request reached the server — intake
    restarting, or (in a cluster) its subscription not yet known to the node we are on — so
    nothing was received and sending the same bytes again is safe (contracts/README.md). After
    `within` seconds the last NoRespondersError, or the request's TimeoutError, is raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pause = 0.05
    while True:
        try:
            return await nc.request(subject, body, timeout=max(deadline - loop.time(), 0.01))
        except nats.errors.NoRespondersError:
            if loop.time() + pause >= deadline:
                raise
        await asyncio.sleep(pause)  # a back-off between attempts, not a wait for an event
        pause = min(pause * 2, 1.0)


class Unreachable(RuntimeError):
    """The operator's command cannot reach NATS; the message says where it looked and what to do."""


async def connect_operator(settings: Settings, *, name: str = "ledger-cli") -> NATS:
    """An operator's CLI connection: fails within seconds with one plain message, no retries."""
    user, password = operator_identity(settings)
    url = url_of(settings)

    async def quiet(_: Exception) -> None:  # reported once, below, in plain words
        return None

    try:
        return await within(
            nats.connect(url, name=name, user=user, password=password, connect_timeout=2, allow_reconnect=False,
                         max_reconnect_attempts=0, error_cb=quiet),
            5,
        )
    except (OSError, TimeoutError, nats.errors.Error) as err:
        hint = "is `ledger up` running (same --data-dir), or LEDGER_NATS_URL / LEDGER_NATS_USER set?"
        why = str(err) or type(err).__name__
        raise Unreachable(f"cannot reach NATS at {url} as {user or 'anonymous'} ({why}); {hint}") from None
