"""What a turn does, in the audit log: every tool call, and every confirmation request with its outcome."""

from __future__ import annotations

import logging

from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest, Confirmer
from bot.engine.executor import RecordCall, TraceEntry
from bot.engine.permissions import Caller, Place
from bot.store.audit import AuditLog, ConfirmationRecord, ToolCallRecord

log = logging.getLogger(__name__)


class AuditedConfirmer:
    """Records each confirmation request and its outcome (with who pressed) in the audit log, around `inner`."""

    def __init__(self, inner: Confirmer, audit: AuditLog, place: Place) -> None:
        self._inner = inner
        self._audit = audit
        self._place = place

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        """Ask through `inner`; the audit log never stops the question or the answer."""
        await self._record(request, "requested", request.asker)
        outcome = await self._inner.confirm(request)
        presser = request.asker if outcome.by_id is None else Caller(outcome.by_id, outcome.by_name or outcome.by_id)
        await self._record(request, outcome.verdict, presser)
        return outcome

    async def _record(self, request: ConfirmationRequest, outcome: str, who: Caller) -> None:
        where = request.audit_place or self._place  # a booking's confirmation goes where the booking belongs
        try:
            await self._audit.record_confirmation(
                ConfirmationRecord(
                    guild_id=where.guild_id,
                    channel_id=where.channel_id,
                    user_id=who.user_id,
                    user_name=who.name,
                    tool=request.tool,
                    arguments=request.arguments,
                    outcome=outcome,
                    summary=request.summary,
                )
            )
        except Exception:
            log.exception("could not record the confirmation of %s in the audit log", request.tool)


def tool_call_recorder(audit: AuditLog, place: Place, caller: Caller) -> RecordCall:
    """Writes each call of one member's turn to the audit log (a booking's under the booking's own server)."""

    async def record(entry: TraceEntry) -> None:
        where = entry.audit_place or place
        await audit.record_tool_call(
            ToolCallRecord(
                guild_id=where.guild_id,
                channel_id=where.channel_id,
                user_id=caller.user_id,
                user_name=caller.name,
                tool=entry.tool,
                arguments=entry.arguments,
                outcome=entry.outcome,
                duration_ms=entry.duration_ms,
                summary=entry.summary,
            )
        )

    return record
