"""py-spy's collapsed stacks (`py-spy record --format raw`) summed up: where a bot's CPU went, by package."""

from __future__ import annotations

import collections
import re


def summarize_profile(raw: str) -> str:
    """py-spy's collapsed stacks as shares of all samples: by package (inclusive) and by own function (self)."""
    total = 0
    own: collections.Counter[str] = collections.Counter()
    own_package: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    groups = {
        "openai SDK (request, transform, parsing)": "(openai/",
        "pydantic": "pydantic",
        "httpx2 / httpcore": "httpx",
        "discord.py": "(discord/",
        "aiohttp": "aiohttp/",
        "aiosqlite / sqlite3": "sqlite",
        "json": "json/",
        "asyncio (event loop)": "(asyncio/",
    }
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[frames[-1]] += count
        leaf = re.search(r"\(([^/:()]+)[/.]", frames[-1])
        own_package[leaf.group(1) if leaf else "?"] += count
        for label, marker in groups.items():
            if any(marker in frame for frame in frames):
                inclusive[label] += count
        for frame in frames:
            if "openai/_utils/_transform" in frame:
                inclusive["openai request transform (_transform)"] += count
                break
    if not total:
        return "no samples (py-spy missing, or not allowed to trace)\n"
    lines = [f"{total} samples", "", "share of samples with a frame in (inclusive):"]
    lines += [f"  {count / total:6.1%}  {label}" for label, count in inclusive.most_common()]
    lines += ["", "own time by package (the frame that was running):"]
    lines += [f"  {count / total:6.1%}  {package}" for package, count in own_package.most_common(12)]
    lines += ["", "top own-time functions:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in own.most_common(25)]
    return "\n".join(lines) + "\n"
