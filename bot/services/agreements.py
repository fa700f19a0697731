"""What members write about their pair: the agreement at its start and each one's closing reflection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.blocks.agreement import (
    FIELD_OF_BLOCK,
    LABEL_OF_BLOCK,
    MAX_LENGTH_OF_BLOCK,
    AgreementFields,
    build_agreement_modal,
    build_agreement_recap,
)
from bot.blocks.ids import AGREEMENT_CADENCE_BLOCK, AGREEMENT_ENDS_ON_BLOCK, INPUT_ACTION, REFLECTION_TEXT_BLOCK
from bot.blocks.lifecycle import MAX_REFLECTION_TEXT, build_closing_reflection_modal
from bot.domain.commands import USAGE, UsageError, cadence_label, check_end_date, parse_cadence
from bot.domain.models import Agreement
from bot.domain.pairs import partner_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.outbox import Outbox
from bot.services.pairs import PairService, parse_pair_id
from bot.store.pairs import get_agreement, get_member_state


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
                fields = AgreementFields(
                    cadence=agreement.meeting_frequency or cadence, who_sets_up=agreement.who_sets_up,
                    contact=agreement.contact, confidentiality=agreement.confidentiality,
                    off_limits=agreement.off_limits, success_measure=agreement.success_measure,
                    way_out=agreement.way_out,
                )
            view = build_agreement_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), fields=fields,
                                         ends_on=pair.ends_on)
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the agreement form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_agreement(self, *, actor: str, private_metadata: str, values: dict[str, Any],
                       now: datetime) -> dict[str, str]:
        """Save the agreement from the modal; return errors by block id (empty when saved)."""
        today = self.pairs.today(now)
        texts = {block_id: str(((values.get(block_id) or {}).get(INPUT_ACTION) or {}).get("value") or "").strip()
                 for block_id in FIELD_OF_BLOCK}
        picked = ((values.get(AGREEMENT_ENDS_ON_BLOCK) or {}).get(INPUT_ACTION) or {}).get("selected_date")
        errors: dict[str, str] = {}
        for block_id, text in texts.items():
            if len(text) > MAX_LENGTH_OF_BLOCK[block_id]:
                errors[block_id] = f"{LABEL_OF_BLOCK[block_id]} can be at most {MAX_LENGTH_OF_BLOCK[block_id]} " \
                                   "characters."
        cadence_days: int | None = None
        if texts[AGREEMENT_CADENCE_BLOCK] and AGREEMENT_CADENCE_BLOCK not in errors:
            try:
                cadence_days = parse_cadence(texts[AGREEMENT_CADENCE_BLOCK])
            except UsageError as problem:
                errors[AGREEMENT_CADENCE_BLOCK] = problem.message
        with self.ctx.session() as session:
            try:
                pair = self.pairs.member_pair(session, actor, parse_pair_id(private_metadata))
            except UserError as problem:
                return {AGREEMENT_CADENCE_BLOCK: problem.text}
            ends_on = pair.ends_on
            if picked:
                try:
                    chosen = date.fromisoformat(str(picked))
                    ends_on = chosen if chosen == pair.ends_on else check_end_date(chosen, today, USAGE["agreement"])
                except ValueError:
                    errors[AGREEMENT_ENDS_ON_BLOCK] = "Pick a date from the calendar."
                except UsageError as problem:
                    errors[AGREEMENT_ENDS_ON_BLOCK] = problem.message
            if errors:
                return errors
            fields = AgreementFields(
                cadence=cadence_label(cadence_days) if cadence_days else "",
                **{FIELD_OF_BLOCK[b]: texts[b] for b in FIELD_OF_BLOCK if b != AGREEMENT_CADENCE_BLOCK},
            )
            agreement = get_agreement(pair.id or 0, session=session) or Agreement(pair_id=pair.id, updated_by=actor)
            agreement.meeting_frequency = fields.cadence
            agreement.who_sets_up = fields.who_sets_up
            agreement.contact = fields.contact
            agreement.confidentiality = fields.confidentiality
            agreement.off_limits = fields.off_limits
            agreement.success_measure = fields.success_measure
            agreement.way_out = fields.way_out
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
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the reflection form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_reflection(self, *, actor: str, private_metadata: str, values: dict[str, Any]) -> dict[str, str]:
        """Store the author's closing reflection, encrypted; return errors by block id."""
        text = str(((values.get(REFLECTION_TEXT_BLOCK) or {}).get(INPUT_ACTION) or {}).get("value") or "").strip()
        if not text:
            return {REFLECTION_TEXT_BLOCK: "Write a few words, or press Cancel."}
        if len(text) > MAX_REFLECTION_TEXT:
            return {REFLECTION_TEXT_BLOCK: f"Keep it to {MAX_REFLECTION_TEXT} characters."}
        with self.ctx.session() as session:
            try:
                pair_id = parse_pair_id(private_metadata)
                self.pairs.member_pair(session, actor, pair_id, allow_ended=True)
            except UserError as problem:
                return {REFLECTION_TEXT_BLOCK: problem.text}
            state = get_member_state(pair_id, actor, session=session)
            state.reflection_text_enc = self.ctx.cipher.encrypt(text)
            session.add(state)
            session.commit()
        return {}
