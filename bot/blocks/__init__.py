"""Block Kit, built by pure functions. Every action, view and block id is a constant here, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Slack's limits (https://api.slack.com/reference/block-kit): keep every builder inside them.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75

Block = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """What a user reads: `text` is the notification fallback, `blocks` the rich layout."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def escape_mrkdwn(text: str) -> str:
    """Escape user text for mrkdwn: Slack's three control characters, then neutralise formatting."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space after a formatting character stops *bold*, _italic_, ~strike~ and `code`.
    for char in "*_~`":
        text = text.replace(char, char + "\u200b")
    return text


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_TEXT), "emoji": True}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
    }
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    return element


# Slack's limit on a modal's title and on its submit and close buttons.
MAX_MODAL_BUTTON_TEXT = 24
# Slack's limits on a select option's text and value.
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150


def plain(text: str, limit: int = 2000) -> Block:
    """Return a plain_text object, cut to `limit`."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def option(value: str, label: str) -> Block:
    return {"text": plain(label, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def input_block(block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None
                ) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint)
    return block


def modal(title: str, blocks: list[Block], *, callback_id: str | None = None, private_metadata: str | None = None,
          submit: str | None = "Save", close: str = "Cancel") -> dict[str, Any]:
    """Return a modal view; one without `submit` only explains something and closes."""
    view: dict[str, Any] = {"type": "modal"}
    if callback_id is not None:
        view["callback_id"] = callback_id
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    view["title"] = plain(title, MAX_MODAL_BUTTON_TEXT)
    if submit is not None:
        view["submit"] = plain(submit, MAX_MODAL_BUTTON_TEXT)
    view["close"] = plain(close, MAX_MODAL_BUTTON_TEXT)
    view["blocks"] = blocks
    return view


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def fit_blocks(blocks: list[Block], limit: int = MAX_MESSAGE_BLOCKS, more: str = "…and more") -> list[Block]:
    """Cut `blocks` to Slack's limit, ending with a note that something was left out."""
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + [context(more)]
