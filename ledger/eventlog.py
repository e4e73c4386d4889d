"""The event log on JetStream: provisioning, atomic optimistic appends, project loads, ordered replay."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Literal

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from contracts.codec import decode_commit, encode_commit, sha256_hex
from contracts.envelope import Commit, Envelope, Recorded
from contracts.subjects import HASH_HEADER, Subjects
from contracts.types import GENESIS_HASH
from ledger.logreader import LogReader
from ledger.logtime import parse_nats_time
from ledger.replymux import ReplyMux
from ledger.waits import within

WRONG_LAST_SEQUENCE = 10071  # JSStreamWrongLastSequenceErrF
DUPLICATE_WINDOW_S = 120.0


class ConcurrencyConflict(Exception):
    """Another writer appended to the same key after the version this writer read."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject}: expected last sequence {expected}, but another commit landed first")
        self.subject = subject
        self.expected = expected


class ChainMismatch(Exception):
    """The commit's prev_hash or number does not continue the key's hash chain: refused."""


class BatchRefused(Exception):
    """The server refused an atomic batch as a whole (nothing of it was written), or its outcome is
    unknown (no ack): append the commits one by one, which sorts out conflicts and lost acks."""


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    hash: str
    duplicate: bool = False
    original: Recorded | None = None  # a duplicate whose record the log already had in hand (a lost ack's retry)


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """One key's history: `version` is the last stream sequence on its subject (0 = none)."""

    records: list[Recorded]
    version: int
    last_hash: str
    last_number: int


def stream_config(subjects: Subjects, *, replicas: int = 1) -> api.StreamConfig:
    """Immutable log: limits retention with no limits, no delete, no purge, no rollup, no TTL."""
    return api.StreamConfig(
        name=subjects.events_stream,
        subjects=subjects.events_filter,
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        max_msgs_per_subject=-1,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
        allow_direct=True,
        allow_msg_ttl=False,
        allow_atomic=True,  # group commit: many commits, one fsync (EventLog.append_atomic)
    )


async def provision(js: JetStreamContext, subjects: Subjects, *, replicas: int = 1) -> None:
    """Create the event-log stream, or check an existing one is still immutable (and let it take
    atomic batches if it was made before they were used). Idempotent; needs the admin identity."""
    wanted = stream_config(subjects, replicas=replicas)
    try:
        info = await js.stream_info(subjects.events_stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(wanted)
        return
    have = info.config
    unsafe = [
        name
        for name, ok in (
            ("deny_delete", have.deny_delete),
            ("deny_purge", have.deny_purge),
            ("allow_rollup_hdrs", not have.allow_rollup_hdrs),
            ("max_age", not have.max_age),
            ("max_msgs", (have.max_msgs or -1) < 0),
            ("max_bytes", (have.max_bytes or -1) < 0),
            ("allow_direct", bool(have.allow_direct)),
        )
        if not ok
    ]
    if unsafe:
        raise RuntimeError(
            f"stream {subjects.events_stream} exists but is not immutable ({', '.join(unsafe)}); "
            "an admin must fix it by hand — refusing to run on a log that can lose history"
        )
    if not have.allow_atomic:  # provisioned before group commit: turn atomic batches on (an allowed update)
        have.allow_atomic = True
        await js.update_stream(have)


class EventLog:
    """Client of the log. Holds no state but a cache of (seq → hash, number) it has seen."""

    def __init__(self, nc: NATS, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=timeout)
        self.subjects = subjects
        self.timeout = timeout
        self._mux = ReplyMux(nc)
        self._stream: api.StreamConfig | None = None  # the events stream's config, asked once
        self._stream_asked = asyncio.Lock()
        self._tip: dict[str, tuple[int, str, int]] = {}

    # -- append ---------------------------------------------------------------------------------

    async def append(self, commit: Commit, *, expected_version: int) -> AppendResult:
        """Append one commit (one command's events) iff the key's last sequence is expected_version.

        A retry of a commit that already landed (lost ack) is reported as success with
        duplicate=True; a real conflict raises ConcurrencyConflict; a commit that does not
        continue the key's hash chain raises ChainMismatch and nothing is written.
        """
        subject, body, digest, headers = await self._prepare(commit, expected_version)
        try:
            ack = await self.js.publish(subject, body, timeout=self.timeout,
                                        stream=self.subjects.events_stream, headers=headers)
        except nats.js.errors.APIError as err:
            if err.err_code != WRONG_LAST_SEQUENCE:
                raise
            # The server checks the expected sequence before the msg-id, so a retry of a write
            # that already landed arrives here: look at what followed our expected version.
            landed = await self._direct({"seq": expected_version + 1, "next_by_subj": subject})
            if landed is not None and (landed.headers or {}).get("Nats-Msg-Id") == commit.commit_id:
                if sha256_hex(landed.data) != digest:
                    raise ChainMismatch(f"{subject}: commit id {commit.commit_id} reused with other bytes") from None
                original = _recorded_from_direct(landed, commit)  # the same bytes: no need to decode them
                self._tip[subject] = (original.seq, digest, commit.number)
                return AppendResult(seq=original.seq, hash=digest, duplicate=True, original=original)
            raise ConcurrencyConflict(subject, expected_version) from None
        self._tip[subject] = (ack.seq, digest, commit.number)
        return AppendResult(seq=ack.seq, hash=digest, duplicate=bool(ack.duplicate))

    async def _stream_config(self) -> api.StreamConfig:
        """The events stream's config, asked of the server once (concurrent first callers share the answer)."""
        if self._stream is None:  # asked on every append and load: no lock once known
            async with self._stream_asked:
                if self._stream is None:
                    self._stream = (await self.js.stream_info(self.subjects.events_stream)).config
        return self._stream

    async def atomic_allowed(self) -> bool:
        """Whether the stream takes atomic batches (allow_atomic; streams provisioned before it do not)."""
        return bool((await self._stream_config()).allow_atomic)

    async def append_atomic(self, items: list[tuple[Commit, int]]) -> list[AppendResult]:
        """Append several commits (each iff its key's last sequence is its expected version) as one
        atomic batch: all are written, with consecutive sequences, or none. With sync_interval:
        always the server then pays one fsync for the batch instead of one per commit.

        Raises BatchRefused when the server refused the batch (a conflict, a msg-id already in the
        duplicate window, …) or did not answer; the caller then appends each commit on its own
        with append(), which tells conflicts, duplicates and lost acks apart exactly as always.
        At most one commit per key in a batch. ChainMismatch/ConcurrencyConflict from the local
        chain check are raised as BatchRefused too.
        """
        if len({self._subject(c) for c, _ in items}) != len(items):
            raise BatchRefused("two commits of one key in a batch")
        batch_id = uuid.uuid4().hex
        # Side by side: a commit whose chain tip is not cached (another replica wrote its key last)
        # costs a direct get, and a batch's look-ups are independent of each other.
        prepared = await asyncio.gather(*(self._prepare(c, e) for c, e in items), return_exceptions=True)
        bodies: list[tuple[str, bytes, str, dict[str, str]]] = []
        for i, done in enumerate(prepared, 1):
            if isinstance(done, ChainMismatch | ConcurrencyConflict):
                raise BatchRefused(str(done)) from None
            if isinstance(done, BaseException):
                raise done
            subject, body, digest, headers = done
            headers |= {"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)}
            bodies.append((subject, body, digest, headers))
        for subject, body, _, headers in bodies[:-1]:
            await self.nc.publish(subject, body, headers=headers)
        subject, body, _, headers = bodies[-1]
        headers["Nats-Batch-Commit"] = "1"
        try:
            reply = await self.nc.request(subject, body, timeout=self.timeout, headers=headers)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as err:
            raise BatchRefused(f"no answer to the batch's commit: {err!r}") from None
        ack = msgspec.json.decode(reply.data)
        if "error" in ack or ack.get("stream") != self.subjects.events_stream or ack.get("count") != len(items):
            raise BatchRefused(f"batch refused: {ack.get('error') or ack}")
        first = int(ack["seq"]) - len(items) + 1
        results = []
        for i, ((commit, _), (subject, _, digest, _)) in enumerate(zip(items, bodies, strict=True)):
            self._tip[subject] = (first + i, digest, commit.number)
            results.append(AppendResult(seq=first + i, hash=digest))
        return results

    async def _prepare(self, commit: Commit, expected_version: int) -> tuple[str, bytes, str, dict[str, str]]:
        """Subject, canonical body, hash and append headers of a commit that continues its key's chain
        (raises ChainMismatch / ConcurrencyConflict from the local chain check)."""
        subject = self._subject(commit)
        await self._check_chain(subject, commit, expected_version)
        body, digest = encode_commit(commit)
        headers = {
            "Nats-Expected-Last-Subject-Sequence": str(expected_version),
            "Nats-Msg-Id": commit.commit_id,
            HASH_HEADER: digest,
        }
        return subject, body, digest, headers

    async def _check_chain(self, subject: str, commit: Commit, expected_version: int) -> None:
        if expected_version == 0:
            prev_hash, prev_number = GENESIS_HASH, 0
        else:
            tip = self._tip.get(subject)
            if tip is None or tip[0] != expected_version:
                found = await self._get(expected_version)
                if found is None or found.subject != subject:
                    raise ConcurrencyConflict(subject, expected_version)
                tip = (found.seq, found.hash, found.commit.number)
            _, prev_hash, prev_number = tip
        if commit.prev_hash != prev_hash:
            raise ChainMismatch(
                f"{subject}: prev_hash {commit.prev_hash[:12]}… does not match the hash of "
                f"sequence {expected_version} ({prev_hash[:12]}…)"
            )
        if commit.number != prev_number + 1:
            raise ChainMismatch(f"{subject}: commit number {commit.number}, expected {prev_number + 1}")

    def _subject(self, commit: Commit) -> str:
        if commit.kind == "calendar":
            return self.subjects.calendar(int(commit.key))
        return self.subjects.project(commit.key)

    # -- point reads ----------------------------------------------------------------------------

    def _direct_subject(self) -> str:
        return f"$JS.API.DIRECT.GET.{self.subjects.events_stream}"

    async def _direct(self, request: dict[str, object]) -> Msg | None:
        payload = msgspec.json.encode(request)
        msg = await self.nc.request(self._direct_subject(), payload, timeout=self.timeout)
        status = (msg.headers or {}).get("Status")
        if status == "404":
            return None
        if status is not None:
            raise RuntimeError(f"direct get {request}: status {status} {msg.headers}")
        return msg

    async def _get(self, seq: int) -> Recorded | None:
        msg = await self._direct({"seq": seq})
        return None if msg is None else _recorded_from_direct(msg)

    async def get(self, seq: int) -> Recorded | None:
        """The commit at one stream sequence, or None."""
        return await self._get(seq)

    async def keys(self, kind: str) -> dict[str, int]:
        """Every key of one kind present in the log (e.g. the published calendar years), in order, with
        its number of commits: a key's count grows with each commit, so two listings differ iff the log
        took a commit of this kind between them."""
        pattern = f"{self.subjects.prefix}.{kind}.*"
        info = await self.js.stream_info(self.subjects.events_stream, subjects_filter=pattern)
        return {subject.rsplit(".", 1)[1]: int(count) for subject, count in sorted((info.state.subjects or {}).items())}

    async def last_seq(self) -> int:
        info = await self.js.stream_info(self.subjects.events_stream)
        return int(info.state.last_seq)

    # -- loads ----------------------------------------------------------------------------------

    async def load(self, kind: str, key: str, *, batch: int = 256) -> Loaded:
        """Every commit of one key in order, by batched direct get (one round trip per batch).

        On a replicated stream a direct get may be answered by a follower that has not applied the
        newest commits yet; the subject's last sequence is then confirmed with the leader and any
        missing tail read from it, so a load always includes every commit acknowledged before it.
        """
        subject = self.subjects.calendar(int(key)) if kind == "calendar" else self.subjects.project(key)
        records: list[Recorded] = []
        seq = 1
        while True:
            page, more = await self._batch(subject, seq, batch)
            records.extend(page)
            if not more or not page:
                break
            seq = page[-1].seq + 1
        if await self._replicated():
            await self._complete_from_leader(subject, records)
        if not records:
            return Loaded(records=[], version=0, last_hash=GENESIS_HASH, last_number=0)
        last = records[-1]
        self._tip[subject] = (last.seq, last.hash, last.commit.number)
        return Loaded(records=records, version=last.seq, last_hash=last.hash, last_number=last.commit.number)

    async def _replicated(self) -> bool:
        return ((await self._stream_config()).num_replicas or 1) > 1

    async def _complete_from_leader(self, subject: str, records: list[Recorded]) -> None:
        """Append what followers had not applied yet, read through the leader (STREAM.MSG.GET)."""
        stream = self.subjects.events_stream
        try:
            last = (await self.js.get_msg(stream, subject=subject)).seq or 0
        except nats.js.errors.NotFoundError:
            return
        while (records[-1].seq if records else 0) < last:
            after = (records[-1].seq if records else 0) + 1
            raw = await self.js.get_msg(stream, seq=after, subject=subject, next=True)
            if raw.seq is None or raw.time is None or raw.data is None:
                raise RuntimeError(f"{subject}: the leader returned an incomplete message after {after - 1}")
            records.append(Recorded(seq=raw.seq, subject=raw.subject or subject, recorded_at=raw.time,
                                    hash=sha256_hex(raw.data), commit=decode_commit(raw.data)))

    async def load_project(self, project_id: str) -> Loaded:
        return await self.load("project", project_id)

    async def read_page(self, seq: int, size: int) -> list[Recorded]:
        """Up to `size` commits of the whole log from `seq` on, in order (one batched direct get)."""
        page, _ = await self._batch(f"{self.subjects.prefix}.>", seq, size)
        return page

    async def _batch(self, subject: str, seq: int, batch: int) -> tuple[list[Recorded], bool]:
        """One batched direct get; replies arrive on a shared inbox subscription (no SUB/UNSUB per load)."""
        replies = await self._mux.open()
        try:
            await self.nc.publish(self._direct_subject(),
                                  msgspec.json.encode({"seq": seq, "next_by_subj": subject, "batch": batch}),
                                  reply=replies.subject)
            out: list[Recorded] = []
            more = False
            while True:
                msg = replies.queue.get_nowait() if not replies.queue.empty() else \
                    await within(replies.queue.get(), self.timeout)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status == "404":
                    return out, False
                if status == "204":  # end of batch
                    return out, more
                if status is not None:
                    raise RuntimeError(f"direct get batch on {subject}: status {status}")
                out.append(_recorded_from_direct(msg))
                more = len(out) >= batch
        finally:
            self._mux.close(replies)

    # -- ordered replay ---------------------------------------------------------------------------

    async def read(
        self,
        *,
        from_seq: int = 1,
        since: dt.datetime | None = None,
        until_seq: int | None = None,
        follow: bool = False,
        batch: int = 1000,
    ) -> AsyncIterator[Recorded]:
        """The whole log in global order from a sequence (or from the first commit recorded at/after `since`).

        Without follow, stops at the last sequence present when called (or at until_seq).
        """
        if since is not None:
            first = await self._direct({"start_time": since.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")})
            if first is None:
                return
            from_seq = max(from_seq, int((first.headers or {})["Nats-Sequence"]))
        reader = LogReader(self, from_seq=from_seq, until_seq=until_seq, follow=follow)
        await reader.start()
        try:
            while records := await reader.take(batch):
                for record in records:
                    yield record
        finally:
            await reader.close()


def _recorded_from_direct(msg: Msg, commit: Commit | None = None) -> Recorded:
    """The record a direct get returned; `commit` is its body decoded, when the caller already has it."""
    headers = msg.headers or {}
    return Recorded(
        seq=int(headers["Nats-Sequence"]),
        subject=headers["Nats-Subject"],
        recorded_at=parse_nats_time(headers["Nats-Time-Stamp"]),
        hash=sha256_hex(msg.data),
        commit=decode_commit(msg.data) if commit is None else commit,
    )


def next_commit(loaded: Loaded, *, commit_id: str, key: str, events: list[Envelope],
                kind: Literal["project", "calendar"] = "project", source: str = "",
                idempotency_key: str = "", submission_hash: str = "") -> Commit:
    """The commit that continues `loaded`'s chain with `events`."""
    return Commit(commit_id=commit_id, kind=kind, key=key, number=loaded.last_number + 1,
                  prev_hash=loaded.last_hash, events=events, source=source,
                  idempotency_key=idempotency_key, submission_hash=submission_hash)
