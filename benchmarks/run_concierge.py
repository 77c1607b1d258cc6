"""Start Concierge through its real entry point (`python -m bot`), talking to the emulated Discord at
BENCH_DISCORD_API and BENCH_DISCORD_GATEWAY instead of
discord.com; every other setting comes from the environment as usual.
Used by bench_discord.py; not for production."""

import os
import sys
from pathlib import Path

import discord
import yarl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.__main__ import main

discord.http.Route.BASE = os.environ["BENCH_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["BENCH_DISCORD_GATEWAY"])
sys.exit(main(["run"]))
