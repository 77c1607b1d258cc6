"""The thin Discord layer: messages and slash commands in, Concierge calls, rendered replies out."""

from bot.discord_adapter.client import ConciergeBot, sync_if_changed
from bot.discord_adapter.runner import run_bot

__all__ = ["ConciergeBot", "run_bot", "sync_if_changed"]
