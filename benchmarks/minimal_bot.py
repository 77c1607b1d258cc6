"""The smallest useful bot, as a yardstick for bench_discord.py: discord.py + openai, one tool, one reply.

    BENCH_DISCORD_API=http://127.0.0.1:PORT/api/v10 BENCH_DISCORD_GATEWAY=ws://127.0.0.1:PORT/gateway OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 \
        python benchmarks/minimal_bot.py

It answers every member message in place: typing while the model works, the model's tool calls run (a calculator,
the same one Concierge offers), then the answer posted in one message. No history, permissions or audit: what any
bot must do at least, so Concierge's figures can be read as a ratio of it, measured in the same run.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

import discord
import openai
import yarl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.calculator import evaluate

discord.http.Route.BASE = os.environ["BENCH_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["BENCH_DISCORD_GATEWAY"])
model = openai.AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="none", max_retries=0)
TOOLS = [
    {
        "type": "function",
        "name": "calculate",
        "description": "Evaluate an arithmetic expression.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]
intents = discord.Intents.default()
intents.message_content = True
client = discord.Client(intents=intents)


async def answer(text: str) -> str:
    """Model, tools, model: until the model answers in words."""
    items: list = [{"role": "user", "content": text}]
    for _ in range(4):
        response = await model.responses.create(model="bench", input=items, tools=TOOLS, store=False)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return response.output_text
        for call in calls:
            result = str(evaluate(json.loads(call.arguments)["expression"]))
            items.append(
                {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments}
            )
            items.append({"type": "function_call_output", "call_id": call.call_id, "output": result})
    return "I gave up."


@client.event
async def on_message(message: discord.Message) -> None:
    if message.author.bot:
        return
    async with message.channel.typing():
        reply = await answer(message.content)
    await message.channel.send(reply[:2000])


asyncio.run(client.start("minimal-bot-token"))
