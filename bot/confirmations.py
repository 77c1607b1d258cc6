"""The facade's side of confirmations: every request to a member and its outcome goes into the audit log."""

from __future__ import annotations

import logging

from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest, Confirmer
from bot.engine.permissions import Caller, Place
from bot.store.audit import AuditLog, ConfirmationRecord

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
