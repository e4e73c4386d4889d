"""`ledger up`'s part for the read API: its environment, the demo load, the dashboard URL."""

from __future__ import annotations

from ledger.runtime.api_tokens import ensure_demo_tokens, load_tokens, token_of
from ledger.runtime.supervisor import emit
from ledger.settings import Settings


def api_env(settings: Settings) -> dict[str, str]:
    """Where the API finds its tokens (generated for the demo when missing) and its port."""
    tokens = ensure_demo_tokens(settings.api_tokens_path)
    return {"LEDGER_API_TOKENS_FILE": str(tokens.resolve()), "LEDGER_API_PORT": str(settings.api_port)}


async def announce(settings: Settings, demo_seed: int | None) -> None:
    """Load the demo (when asked) through intake, then print the dashboard URL with the demo viewer token."""
    if demo_seed is not None:
        from ledger.cli.demo import load_demo  # the demo publisher connects only when asked

        emit("ledger", f"loading the demo year (seed {demo_seed}) through intake …")
        try:
            report = await load_demo(settings, seed=demo_seed, say=False)
        except Exception as exc:  # the system stays up without the demo; say why it did not load
            emit("ledger", f"demo not loaded: {type(exc).__name__}: {exc}")
        else:
            emit("ledger", f"demo: {report.accepted} submissions accepted, {report.duplicates} already in the "
                           f"ledger, {len(report.rejected)} rejected")
            for key, code, message in report.rejected[:10]:
                emit("ledger", f"demo: rejected {key}: {code}: {message}")
    viewer = token_of(load_tokens(settings.api_tokens_path), "demo-viewer")
    base = f"http://127.0.0.1:{settings.api_port}"
    emit("ledger", f"read API: {base}/api/v1/projects (OpenAPI: {base}/schema/openapi.json)")
    if viewer is not None:
        emit("ledger", f"demo viewer token: {viewer}")
        emit("ledger", f"dashboard: {base}/dashboard/?token={viewer}")
    else:
        emit("ledger", f"dashboard: {base}/dashboard/ (tokens: {settings.api_tokens_path})")
