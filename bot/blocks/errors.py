"""How a refused request reads: what was wrong, then the right usage."""

from __future__ import annotations

from bot.blocks import Reply, context, escape_mrkdwn, section


def build_error_reply(text: str, usage: str | None = None) -> Reply:
    blocks = [section(f":warning: {text}")]
    if usage:
        blocks.append(context(f"Usage: `{escape_mrkdwn(usage).replace(chr(0x200b), '')}`"))
    fallback = f"{text} Usage: {usage}" if usage else text
    return Reply(text=fallback, blocks=blocks)
