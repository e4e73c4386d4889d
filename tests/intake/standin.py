"""A minimal stages service for intake's tests: appends through EventLog as the real one does."""

from __future__ import annotations

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from contracts.codec import encode, workflow_decoder
from contracts.commands import PassStage, SupplyDocuments
from contracts.envelope import Envelope
from contracts.events import ApplicationReceived, ApplicationWithdrawn, DocumentsSupplemented, DomainEvent
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.clock import local_date
from ledger.eventlog import ConcurrencyConflict, EventLog, next_commit
from ledger.ids import commit_id_for, event_id_for


class StagesStandIn:
    """Knows just enough: unknown/withdrawn projects, one rule, one garbage answer, provenance."""

    def __init__(self, nc: NATS, subjects: Subjects) -> None:
        self.nc = nc
        self.log = EventLog(nc, subjects)
        self.subject = subjects.stages_commands
        self.sub: Subscription | None = None
        self.requests = 0

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(self.subject, cb=self._on, queue="stages")

    async def stop(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()
            self.sub = None

    async def _on(self, msg: Msg) -> None:
        self.requests += 1
        request = workflow_decoder.decode(msg.data)
        sub = request.submission
        if isinstance(sub.command, PassStage) and sub.command.stage == "garbage":
            await msg.respond(b"\x00 not a receipt")
            return
        ids = {"idempotency_key": sub.idempotency_key, "project_id": sub.project_id}
        cid = commit_id_for(request.source, sub.idempotency_key)
        for _ in range(8):
            loaded = await self.log.load_project(sub.project_id)
            prior = next((r for r in loaded.records if r.commit.commit_id == cid), None)
            if prior is not None:
                if prior.commit.submission_hash != request.submission_hash:
                    answer: Accepted | Rejected = Rejected(code="idempotency_conflict", message="key reused", **ids)
                else:
                    answer = Accepted(idempotency_key=sub.idempotency_key, project_id=sub.project_id,
                                      event_ids=[e.event_id for e in prior.commit.events],
                                      project_version=prior.seq, commit_hash=prior.hash, duplicate=True)
                break
            events = [e.event for r in loaded.records for e in r.commit.events]
            if not any(isinstance(e, ApplicationReceived) for e in events):
                answer = Rejected(code="unknown_project", message=f"project {sub.project_id} is not in the ledger",
                                  field="$.project_id", **ids)
                break
            if any(isinstance(e, ApplicationWithdrawn) for e in events):
                answer = Rejected(code="project_withdrawn", message="withdrawn", field="$.project_id", **ids)
                break
            if isinstance(sub.command, PassStage):
                answer = Rejected(code="rule_violation", field="$.command.stage", **ids,
                                  message=f"stage {sub.command.stage} cannot pass: it is not open")
                break
            assert isinstance(sub.command, SupplyDocuments)
            event: DomainEvent = DocumentsSupplemented(documents=sub.command.documents,
                                                       supplied_on=local_date(sub.occurred_at))
            envelopes = [Envelope(event_id=event_id_for(cid, 0), project_id=sub.project_id,
                                  occurred_at=sub.occurred_at, actor=sub.actor, source=request.source, event=event)]
            commit = next_commit(loaded, commit_id=cid, key=sub.project_id, events=envelopes, source=request.source,
                                 idempotency_key=sub.idempotency_key, submission_hash=request.submission_hash)
            try:
                done = await self.log.append(commit, expected_version=loaded.version)
            except ConcurrencyConflict:
                continue
            answer = Accepted(idempotency_key=sub.idempotency_key, project_id=sub.project_id,
                              event_ids=[envelopes[0].event_id], project_version=done.seq,
                              commit_hash=done.hash, duplicate=done.duplicate)
            break
        await msg.respond(encode(answer))
