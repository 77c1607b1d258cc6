"""Token estimates without a tokenizer: for history budgets and for servers that report no usage."""

from __future__ import annotations

import re

from bot.engine.items import AssistantMessage, Item, Reasoning, ToolCall, ToolOutput, UserMessage

ITEM_OVERHEAD_TOKENS = 4
IMAGE_TOKENS = 765
"""An image's estimated cost: OpenAI's price of a 1024x1024 image at detail "auto" (85 + 4 tiles of 170)."""
_CJK = re.compile(
    r"[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def estimate_tokens(text: str) -> int:
    """Estimate a text's token count without a tokenizer (tiktoken downloads its files at run time; we run offline).

    ~4 characters per token for ASCII, 1 token per CJK character (Chinese, Japanese, Korean, full-width forms),
    ~2 characters per token for other non-ASCII text (accented Latin, Cyrillic, emoji...); rounded up.
    It errs on the high side for ordinary English, so a window chosen with it fits the real budget.
    """
    if text.isascii():
        return (len(text) + 3) // 4
    cjk = len(_CJK.findall(text))
    other = len(_NON_ASCII.findall(text)) - cjk
    ascii_chars = len(text) - cjk - other
    return (ascii_chars + 3) // 4 + cjk + (other + 1) // 2


def item_tokens(item: Item) -> int:
    """The estimated tokens one item costs in a request: its visible text plus a small per-item overhead."""
    match item:
        case UserMessage():
            text = item.as_prompt()
            return estimate_tokens(text) + IMAGE_TOKENS * len(item.images()) + ITEM_OVERHEAD_TOKENS
        case AssistantMessage():
            text = item.text
        case ToolCall():
            text = item.name + item.arguments
        case ToolOutput():
            text = item.output
        case Reasoning():
            text = item.encrypted_content
    return estimate_tokens(text) + ITEM_OVERHEAD_TOKENS
