"""Intake's own streams: inbound (a queue intake trims), rejected (append-only), receipts (memory, bounded).

- inbound: limits retention, file storage, trimmed by intake. A message stays until intake has
  settled it — however long intake is down — and is then removed by intake's trimmer
  (inbound.InboundConsumer), which purges the stream below its durable consumer's ack floor every
  few seconds: one purge for thousands of messages. Work-queue retention would remove each message
  as it is acked, at the cost of one stream removal per ack: at sync_interval always that path's
  bare floor was ~0.71× raw append against ~0.79× with limits and explicit acks (bench/raw.py), and
  intake's fire-and-forget path ran ~0.45× against ~0.56×. No max_age: limits with an age would
  drop unprocessed messages after an outage longer than that age. A 1 GiB cap with discard=new makes
  a flood refuse new publishes (the publisher sees the error) instead of losing old ones. An
  inbound stream made by an older intake with work-queue retention is used as it is (its acks
  remove, nothing to trim): retention cannot be changed in place.
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
            name=subjects.inbound_stream, subjects=[f"{p}.inbound.*"], retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE, max_bytes=1 << 30, discard=api.DiscardPolicy.NEW,
            duplicate_window=DUPLICATE_WINDOW_S, deny_delete=True, deny_purge=False,  # intake trims it
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


async def provision(js: JetStreamContext, subjects: Subjects) -> dict[str, api.StreamConfig]:
    """Create intake's streams if missing (intake's identity may create, never update or delete them);
    returns each stream's config as the server holds it."""
    held: dict[str, api.StreamConfig] = {}
    for config in configs(subjects):
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            held[config.name] = (await js.add_stream(config)).config
            continue
        have = info.config.retention
        older_inbound = config.name == subjects.inbound_stream and have == api.RetentionPolicy.WORK_QUEUE  # see above
        if (have != config.retention and not older_inbound) or info.config.subjects != config.subjects:
            raise RuntimeError(f"stream {config.name} exists with another retention or subjects; an admin must fix it")
        held[config.name] = info.config
    return held
