"""Failures injected into a real port (the event log, the key index): a server down, a leader election.

    appends = Fault(nats.errors.TimeoutError, down=True)       # every append times out until released
    n.recorder.log = faulty(n.recorder.log, append=appends)    # everything else goes to the real log
    ...
    appends.release()

A faulted method fails while its Fault says so and otherwise calls the real one; every other attribute is
the real object's. Only calls made through the wrapper fail: the real object's calls to its own methods do
not (none of the wrapped ports call the methods faulted here on themselves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Fault:
    """How a method fails: it raises `error` on its first `times` calls, and on every call while `down`.
    `failed` counts the calls that failed (one Fault may serve several methods: they then share it)."""

    def __init__(self, error: BaseException | type[BaseException], *, times: int = 0, down: bool = False) -> None:
        self.error, self.times, self.down = error, times, down
        self.failed = 0

    def release(self) -> None:
        """Calls succeed from now on."""
        self.down, self.times = False, 0

    def strike(self) -> None:
        """Raise the error if this call is one that fails."""
        if self.down or self.failed < self.times:
            self.failed += 1
            raise self.error


class Faulty:
    """`real`, except that each method named in `faults` (a coroutine method) consults its Fault first.
    `real` may be None: nothing behind the faults (a log that is down for good), no other attribute."""

    def __init__(self, real: object | None, **faults: Fault) -> None:
        self._real, self._faults = real, faults

    def __getattr__(self, name: str) -> Any:
        fault = self._faults.get(name)
        if fault is None:
            return getattr(self._real, name)
        method: Callable[..., Awaitable[Any]] | None = getattr(self._real, name, None)

        async def failing(*args: Any, **kwargs: Any) -> Any:
            fault.strike()
            if method is None:
                raise AttributeError(f"{name}: nothing behind this fault")
            return await method(*args, **kwargs)
        return failing


def faulty(real: T, **faults: Fault) -> T:
    """`real` with `faults` injected (see Faulty), typed as `real` so it can stand in for it."""
    return cast(T, Faulty(real, **faults))
