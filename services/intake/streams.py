"""Intake's own streams: inbound (work queue), rejected (append-only), receipts (memory, bounded).

- inbound: work-queue retention, file storage. A message stays until intake acks it — however
  long intake is down — and is then gone: its lasting trace is the commit in the event log or
  the entry in the rejected stream. Limits retention with a max_age would instead drop
  unprocessed messages after an outage longer than that age. A 1 GiB cap with discard=new
  makes a flood refuse new publishes (the publisher sees the error) instead of losing old ones.
- rejected: every rejection with its raw bytes; limits retention without limits, deny_delete
  and deny_purge, like the event log.
- receipts: for publishers that were offline. Memory storage on purpose: a receipt is derived
  data (resubmitting the same key returns it again), so it must not cost a second fsync per
  submission; bounded to 7 days / 256 MiB.
"""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext, api

from contracts.subjects import Subjects

DUPLICATE_WINDOW_S = 120.0


def configs(subjects: Subjects) -> list[api.StreamConfig]:
    p = subjects.prefix
    return [
        api.StreamConfig(
            name=subjects.inbound_stream, subjects=[f"{p}.inbound.*"], retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE, max_bytes=1 << 30, discard=api.DiscardPolicy.NEW,
            duplicate_window=DUPLICATE_WINDOW_S, deny_delete=True, deny_purge=True,
        ),
        api.StreamConfig(
            name=subjects.rejected_stream, subjects=[f"{p}.rejected.*"], retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE, max_msgs=-1, max_bytes=-1, max_age=0, deny_delete=True, deny_purge=True,
            allow_rollup_hdrs=False, allow_direct=True,
        ),
        api.StreamConfig(
            name=subjects.receipts_stream, subjects=[f"{p}.receipts.*"], retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.MEMORY, max_age=7 * 24 * 3600, max_bytes=256 << 20,
            discard=api.DiscardPolicy.OLD, allow_direct=True,
        ),
    ]


async def provision(js: JetStreamContext, subjects: Subjects) -> None:
    """Create intake's streams if missing (intake's identity may create, never update or delete them)."""
    for config in configs(subjects):
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            continue
        if info.config.retention != config.retention or info.config.subjects != config.subjects:
            raise RuntimeError(f"stream {config.name} exists with another retention or subjects; an admin must fix it")
