"""The system prompt: a template shipped in the package (or SYSTEM_PROMPT_FILE) filled in per turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from bot.engine.permissions import Place

DEFAULT_PROMPT_FILE: Traversable = files("bot") / "resources" / "system_prompt.md"


@dataclass(frozen=True, slots=True)
class SystemPrompt:
    """A prompt template with $today, $weekday, $server and $channel placeholders."""

    template: str

    @classmethod
    def from_file(cls, path: Path | None = None) -> SystemPrompt:
        """Load the template (the default shipped in the package when no path is given)."""
        source = DEFAULT_PROMPT_FILE if path is None else path
        return cls(source.read_text(encoding="utf-8"))

    def render(self, *, place: Place, now: datetime) -> str:
        """The prompt for one turn; unknown $placeholders are left as they are."""
        return Template(self.template).safe_substitute(
            today=now.date().isoformat(),
            weekday=now.strftime("%A"),
            server=_quoted_name(place.guild_name) or "(direct messages)",
            channel=_quoted_name(place.channel_name) or ("a direct message" if place.is_dm else "this channel"),
        )


def _quoted_name(name: str | None, *, limit: int = 80) -> str:
    """A server or channel name made safe to quote in the prompt: a thread's name is a member's words."""
    if not name:
        return ""
    flat = " ".join(name.replace('"', "'").replace("`", "'").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
