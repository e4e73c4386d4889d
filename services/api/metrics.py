"""Prometheus metrics of the read API: requests and latency by route template, in the app's own registry."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ApiMetrics:
    """One registry per app (tests build many apps in one process; the global registry would clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("ledger_api_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("ledger_api_request_seconds", "Time to answer a request",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)


def metrics_middleware(metrics: ApiMetrics) -> object:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = [500]

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                route = str(scope.get("path_template") or "unmatched")
                method = str(scope.get("method", ""))
                metrics.requests.labels(method, route, str(status[0])).inc()
                metrics.latency.labels(method, route).observe(time.perf_counter() - started)

        return middleware

    return factory
