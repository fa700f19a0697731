"""Block Kit's published rules, as the fake Slack enforces them.

Limits from Slack's Block Kit reference (blocks, block elements, composition objects, view objects). Each
problem is reported as Slack words it: a short reason and a JSON pointer to the offending field, e.g.
"must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]".
"""

from __future__ import annotations

import re
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and the Home tab
MAX_ID = 255  # action_id, block_id, callback_id, external_id
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_PLACEHOLDER = 150
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_SELECT_OPTIONS = 100
MAX_OVERFLOW_OPTIONS = 5
MIN_OVERFLOW_OPTIONS = 1
MAX_CHOICE_OPTIONS = 10  # radio buttons and checkboxes
MAX_LABEL = 2000  # input label and hint
MAX_INPUT_LENGTH = 3000  # plain_text_input max_length / min_length
MAX_VIEW_TITLE = 24  # modal title, submit and close
MAX_PRIVATE_METADATA = 3000
MAX_ALT_TEXT = 2000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

BLOCK_TYPES = frozenset({"section", "divider", "header", "context", "actions", "input", "image", "rich_text",
                         "video", "file", "markdown"})
SELECTS = frozenset({"static_select", "multi_static_select"})
OTHER_SELECTS = frozenset({"users_select", "multi_users_select", "conversations_select",
                           "multi_conversations_select", "channels_select", "multi_channels_select",
                           "external_select", "multi_external_select"})
INPUT_ELEMENTS = frozenset({"plain_text_input", "datepicker", "timepicker", "datetimepicker", "radio_buttons",
                            "checkboxes", "number_input", "email_text_input", "url_text_input",
                            "rich_text_input", "file_input", *SELECTS, *OTHER_SELECTS})
ACTION_ELEMENTS = frozenset({"button", "overflow", "datepicker", "timepicker", "datetimepicker", "radio_buttons",
                             "checkboxes", "workflow_button", *SELECTS, *OTHER_SELECTS})
ACCESSORY_ELEMENTS = frozenset({"button", "overflow", "datepicker", "timepicker", "radio_buttons", "checkboxes",
                                "image", *SELECTS, *OTHER_SELECTS})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, reason: str, pointer: str) -> None:
        self.errors.append(f"{reason} [json-pointer:{pointer}]")

    # ---- composition objects ---------------------------------------------------------------
    def text(self, obj: Any, at: str, limit: int, *, plain_only: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail("must provide an object", at)
            return
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.fail("must be a text object of type plain_text or mrkdwn", at)
            return
        if plain_only and obj["type"] != "plain_text":
            self.fail("must be a plain_text object", f"{at}/type")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.fail("must be more than 0 characters", f"{at}/text")
        elif len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{at}/text")

    def length(self, obj: dict[str, Any], key: str, at: str, limit: int) -> None:
        value = obj.get(key)
        if value is None:
            return
        if not isinstance(value, str):
            self.fail("must be a string", f"{at}/{key}")
        elif len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{at}/{key}")

    def options(self, options: Any, at: str, *, most: int, least: int = 1, plain_only: bool = True) -> list[Any]:
        """Check an options array; return the values it offers."""
        if not isinstance(options, list) or len(options) < least:
            self.fail(f"must provide at least {least} items", at)
            return []
        if len(options) > most:
            self.fail(f"no more than {most} items allowed", at)
        values = []
        for i, option in enumerate(options):
            where = f"{at}/{i}"
            if not isinstance(option, dict):
                self.fail("must provide an object", where)
                continue
            self.text(option.get("text"), f"{where}/text", MAX_OPTION_TEXT, plain_only=plain_only)
            if option.get("value") is None:
                self.fail("must provide a value", f"{where}/value")
            self.length(option, "value", where, MAX_OPTION_VALUE)
            if option.get("description") is not None:
                self.text(option["description"], f"{where}/description", MAX_OPTION_DESCRIPTION,
                          plain_only=plain_only)
            values.append(option.get("value"))
        return values

    def confirm(self, confirm: Any, at: str) -> None:
        if confirm is None:
            return
        if not isinstance(confirm, dict):
            self.fail("must provide an object", at)
            return
        self.text(confirm.get("title"), f"{at}/title", MAX_CONFIRM_TITLE, plain_only=True)
        self.text(confirm.get("text"), f"{at}/text", MAX_CONFIRM_TEXT)
        self.text(confirm.get("confirm"), f"{at}/confirm", MAX_CONFIRM_BUTTON, plain_only=True)
        self.text(confirm.get("deny"), f"{at}/deny", MAX_CONFIRM_BUTTON, plain_only=True)

    # ---- elements ------------------------------------------------------------------------------
    def element(self, element: Any, at: str, allowed: frozenset[str]) -> None:
        if not isinstance(element, dict):
            self.fail("must provide an object", at)
            return
        kind = element.get("type")
        if kind not in allowed:
            self.fail(f"element type {kind!r} is not allowed here", f"{at}/type")
            return
        self.length(element, "action_id", at, MAX_ID)
        self.confirm(element.get("confirm"), f"{at}/confirm")
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], f"{at}/placeholder", MAX_PLACEHOLDER, plain_only=True)
        if kind == "button":
            self.text(element.get("text"), f"{at}/text", MAX_BUTTON_TEXT, plain_only=True)
            self.length(element, "value", at, MAX_BUTTON_VALUE)
            self.length(element, "url", at, MAX_URL)
            if element.get("style") not in (None, "primary", "danger"):
                self.fail("must be one of primary, danger", f"{at}/style")
        elif kind in SELECTS:
            if element.get("options") is None and element.get("option_groups") is None:
                self.fail("must provide options or option_groups", at)
                return
            values = self.options(element.get("options"), f"{at}/options", most=MAX_SELECT_OPTIONS) \
                if element.get("options") is not None else []
            for j, group in enumerate(element.get("option_groups") or []):
                values += self.options(group.get("options"), f"{at}/option_groups/{j}/options",
                                       most=MAX_SELECT_OPTIONS)
            initial = [element["initial_option"]] if element.get("initial_option") else \
                list(element.get("initial_options") or [])
            self.initial(initial, values, at)
        elif kind == "overflow":
            self.options(element.get("options"), f"{at}/options", most=MAX_OVERFLOW_OPTIONS,
                         least=MIN_OVERFLOW_OPTIONS)
        elif kind in ("radio_buttons", "checkboxes"):
            values = self.options(element.get("options"), f"{at}/options", most=MAX_CHOICE_OPTIONS,
                                  plain_only=False)
            initial = [element["initial_option"]] if element.get("initial_option") else \
                list(element.get("initial_options") or [])
            self.initial(initial, values, at)
        elif kind == "plain_text_input":
            most, least = element.get("max_length"), element.get("min_length")
            if most is not None and not 1 <= most <= MAX_INPUT_LENGTH:
                self.fail(f"must be between 1 and {MAX_INPUT_LENGTH}", f"{at}/max_length")
            if least is not None and not 0 <= least <= MAX_INPUT_LENGTH:
                self.fail(f"must be between 0 and {MAX_INPUT_LENGTH}", f"{at}/min_length")
            if most is not None and least is not None and least > most:
                self.fail("min_length must not exceed max_length", f"{at}/min_length")
            initial = element.get("initial_value")
            if isinstance(initial, str) and isinstance(most, int) and len(initial) > most:
                self.fail(f"must be less than {most + 1} characters", f"{at}/initial_value")
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and not (isinstance(initial, str) and _DATE.match(initial)):
                self.fail("must be a date in the format YYYY-MM-DD", f"{at}/initial_date")
        elif kind == "image":
            self.length(element, "alt_text", at, MAX_ALT_TEXT)
            if not element.get("alt_text"):
                self.fail("must provide alt_text", f"{at}/alt_text")

    def initial(self, initial: list[Any], values: list[Any], at: str) -> None:
        for option in initial:
            if not isinstance(option, dict) or option.get("value") not in values:
                self.fail("initial option must exactly match one of the options", f"{at}/initial_option")

    # ---- blocks --------------------------------------------------------------------------------
    def blocks(self, blocks: Any, at: str, most: int) -> list[dict[str, Any]]:
        if not isinstance(blocks, list):
            self.fail("must provide an array", at)
            return []
        if len(blocks) > most:
            self.fail(f"no more than {most} items allowed", at)
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            where = f"{at}/{i}"
            if not isinstance(block, dict):
                self.fail("must provide an object", where)
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.length(block, "block_id", where, MAX_ID)
                if block_id in seen:
                    self.fail(f"duplicate block_id {block_id!r}", f"{where}/block_id")
                seen.add(block_id)
            self.block(block, where)
        return [b for b in blocks if isinstance(b, dict)]

    def block(self, block: dict[str, Any], at: str) -> None:
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unknown block type {kind!r}", f"{at}/type")
        elif kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                self.fail("must provide text or fields", at)
            if block.get("text") is not None:
                self.text(block["text"], f"{at}/text", MAX_SECTION_TEXT)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or not fields:
                    self.fail("must provide at least 1 items", f"{at}/fields")
                else:
                    if len(fields) > MAX_SECTION_FIELDS:
                        self.fail(f"no more than {MAX_SECTION_FIELDS} items allowed", f"{at}/fields")
                    for j, item in enumerate(fields):
                        self.text(item, f"{at}/fields/{j}", MAX_FIELD_TEXT)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{at}/accessory", ACCESSORY_ELEMENTS)
        elif kind == "header":
            self.text(block.get("text"), f"{at}/text", MAX_HEADER_TEXT, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide at least 1 items", f"{at}/elements")
                return
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                self.fail(f"no more than {MAX_CONTEXT_ELEMENTS} items allowed", f"{at}/elements")
            for j, item in enumerate(elements):
                if isinstance(item, dict) and item.get("type") == "image":
                    self.element(item, f"{at}/elements/{j}", frozenset({"image"}))
                else:
                    self.text(item, f"{at}/elements/{j}", MAX_SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide at least 1 items", f"{at}/elements")
                return
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                self.fail(f"no more than {MAX_ACTIONS_ELEMENTS} items allowed", f"{at}/elements")
            action_ids: set[str] = set()
            for j, element in enumerate(elements):
                self.element(element, f"{at}/elements/{j}", ACTION_ELEMENTS)
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if action_id is not None:
                    if action_id in action_ids:
                        self.fail(f"duplicate action_id {action_id!r}", f"{at}/elements/{j}/action_id")
                    action_ids.add(action_id)
        elif kind == "input":
            self.text(block.get("label"), f"{at}/label", MAX_LABEL, plain_only=True)
            if block.get("hint") is not None:
                self.text(block["hint"], f"{at}/hint", MAX_LABEL, plain_only=True)
            if block.get("element") is None:
                self.fail("must provide an object", f"{at}/element")
            else:
                self.element(block["element"], f"{at}/element", INPUT_ELEMENTS)
        elif kind == "image":
            self.element({**block, "type": "image"}, at, frozenset({"image"}))
            if block.get("title") is not None:
                self.text(block["title"], f"{at}/title", MAX_LABEL, plain_only=True)


def message_errors(blocks: Any) -> list[str]:
    """Return what Slack would refuse in a message's `blocks` (chat.postMessage, chat.update, response_url...)."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    return checker.errors


def view_errors(view: Any) -> list[str]:
    """Return what Slack would refuse in a view (views.open / push / update / publish, response_action)."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.fail("must be one of modal, home", "/view/type")
        return checker.errors
    blocks = checker.blocks(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
    for key in ("callback_id", "external_id"):
        checker.length(view, key, "/view", MAX_ID)
    checker.length(view, "private_metadata", "/view", MAX_PRIVATE_METADATA)
    if kind == "modal":
        checker.text(view.get("title"), "/view/title", MAX_VIEW_TITLE, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text(view[key], f"/view/{key}", MAX_VIEW_TITLE, plain_only=True)
        if view.get("submit") is None and any(b.get("type") == "input" for b in blocks):
            checker.fail("must provide submit when the view has input blocks", "/view/submit")
    return checker.errors


def input_block_ids(view: dict[str, Any]) -> set[str]:
    """Return the block ids of a view's input blocks: all a `response_action: errors` answer may name."""
    return {b["block_id"] for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")}
