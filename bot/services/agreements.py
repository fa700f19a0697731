"""What members write about their pair: the agreement at its start and each one's closing reflection."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from bot.blocks.agreement import (
    AgreementFields,
    build_agreement_modal,
    build_agreement_recap,
)
from bot.blocks.forms import (
    AgreementForm,
    ReflectionForm,
    agreement_errors,
    agreement_fields,
    reflection_errors,
)
from bot.blocks.ids import AGREEMENT_CADENCE_BLOCK, AGREEMENT_ENDS_ON_BLOCK, REFLECTION_TEXT_BLOCK
from bot.blocks.lifecycle import build_closing_reflection_modal
from bot.domain.commands import USAGE, UsageError, cadence_label, check_end_date
from bot.domain.models import Agreement
from bot.domain.pairs import partner_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.outbox import Outbox
from bot.services.pairs import PairService, parse_pair_id
from bot.store.pairs import get_agreement, get_member_state

# The stored agreement names the cadence as it was agreed; the rest of its columns are the fields' names.
_COLUMN_OF_FIELD = {"cadence": "meeting_frequency"}


class AgreementService:
    def __init__(self, ctx: ServiceContext, pairs: PairService) -> None:
        self.ctx = ctx
        self.pairs = pairs

    def open_agreement_modal(self, *, actor: str, pair_id: int, trigger_id: str) -> None:
        """Open the agreement modal for a member of the pair, pre-filled with what they agreed so far."""
        with self.ctx.session() as session:
            pair = self.pairs.member_pair(session, actor, pair_id)
            agreement = get_agreement(pair_id, session=session)
            cadence = cadence_label(pair.cadence_days)
            if agreement is None:
                fields = AgreementFields(cadence=cadence)
            else:
                fields = AgreementFields(**{name: getattr(agreement, _COLUMN_OF_FIELD.get(name, name))
                                            for name in AgreementFields.__dataclass_fields__})
                fields = replace(fields, cadence=fields.cadence or cadence)
            view = build_agreement_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), fields=fields,
                                         ends_on=pair.ends_on)
        self._open(trigger_id, view, "agreement")

    def save_agreement(self, *, actor: str, private_metadata: str, form: AgreementForm) -> dict[str, str]:
        """Save the agreement from the modal; return errors by block id (empty when saved)."""
        now = self.ctx.now()
        today = self.pairs.today(now)
        errors, cadence_days = agreement_errors(form)
        with self.ctx.session() as session:
            try:
                pair = self.pairs.member_pair(session, actor, parse_pair_id(private_metadata))
            except UserError as problem:
                return {AGREEMENT_CADENCE_BLOCK: problem.text}
            ends_on = pair.ends_on
            chosen = form.ends_on.value
            if chosen is not None and chosen != pair.ends_on:
                try:
                    ends_on = check_end_date(chosen, today, USAGE["agreement"])
                except UsageError as problem:
                    errors[AGREEMENT_ENDS_ON_BLOCK] = problem.message
            if errors:
                return errors
            fields = agreement_fields(form, cadence_days)
            agreement = get_agreement(pair.id or 0, session=session) or Agreement(pair_id=pair.id, updated_by=actor)
            for name, value in asdict(fields).items():
                setattr(agreement, _COLUMN_OF_FIELD.get(name, name), value)
            agreement.updated_at = now
            agreement.updated_by = actor
            if cadence_days:
                pair.cadence_days = cadence_days
            pair.ends_on = ends_on
            session.add(agreement)
            session.add(pair)
            channel = pair.channel_id
            session.commit()
        after = Outbox()
        after.add(channel, build_agreement_recap(actor=actor, fields=fields, ends_on=ends_on))
        after.send(self.ctx.gateway)
        return {}

    def open_reflection_modal(self, *, actor: str, pair_id: int, trigger_id: str) -> None:
        with self.ctx.session() as session:
            pair = self.pairs.member_pair(session, actor, pair_id, allow_ended=True)
            state = get_member_state(pair_id, actor, session=session)
            text = self.ctx.cipher.decrypt(state.reflection_text_enc)
            view = build_closing_reflection_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), text=text)
            session.rollback()  # nothing to keep: an empty MemberState is made when the reflection is saved
        self._open(trigger_id, view, "reflection")

    def _open(self, trigger_id: str, view: dict[str, Any], what: str) -> None:
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the {what} form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_reflection(self, *, actor: str, private_metadata: str, form: ReflectionForm) -> dict[str, str]:
        """Store the author's closing reflection, encrypted; return errors by block id."""
        errors = reflection_errors(form)
        if errors:
            return errors
        with self.ctx.session() as session:
            try:
                pair_id = parse_pair_id(private_metadata)
                self.pairs.member_pair(session, actor, pair_id, allow_ended=True)
            except UserError as problem:
                return {REFLECTION_TEXT_BLOCK: problem.text}
            state = get_member_state(pair_id, actor, session=session)
            state.reflection_text_enc = self.ctx.cipher.encrypt(form.text)
            session.add(state)
            session.commit()
        return {}
