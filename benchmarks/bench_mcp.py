"""Benchmark the overhead Concierge's MCP layer adds to a tool call on a stdio server.

Run on demand (not part of the test suite):

    python benchmarks/bench_mcp.py

Two copies of the test toolbox (tests/mcp_servers/toolbox.py) run over stdio: one called through the bare SDK
(`ClientSession.call_tool`: the server's own time plus the pipe and the SDK), one through `McpTools.call` (argument
checks, the connection's message forwarding, result conversion and the cap). Calls alternate between them so both
see the same machine load. Overhead = p50(McpTools) − p50(bare SDK). Target: under 5 ms at p50.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp import ClientSession, StdioServerParameters, stdio_client

from bot.mcp import McpTools
from tests.mcp.servers import TOOLBOX, stdio

CALLS = 500
ARGUMENTS = {"text": "hello", "times": 2}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    bare: list[float] = []
    ours: list[float] = []
    tools = McpTools([stdio("bench")], default_timeout=10.0)
    await tools.start()
    parameters = StdioServerParameters(command=sys.executable, args=[TOOLBOX, "stdio"])
    try:
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.list_tools()
            for _ in range(20):  # warm both paths up
                await session.call_tool("echo", ARGUMENTS)
                await tools.call("bench__echo", ARGUMENTS)
            for _ in range(CALLS):
                started = time.perf_counter()
                await session.call_tool("echo", ARGUMENTS)
                bare.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                result = await tools.call("bench__echo", ARGUMENTS)
                ours.append((time.perf_counter() - started) * 1000)
                assert result == {"content": "hello hello"}, result
    finally:
        await tools.aclose()
    print(f"{CALLS} calls of echo over stdio, milliseconds")
    print(f"  bare SDK     p50 {statistics.median(bare):6.2f}   p95 {percentile(bare, 0.95):6.2f}")
    print(f"  McpTools     p50 {statistics.median(ours):6.2f}   p95 {percentile(ours, 0.95):6.2f}")
    overhead = statistics.median(ours) - statistics.median(bare)
    print(f"  overhead     p50 {overhead:6.2f}   (target < 5 ms): {'OK' if overhead < 5 else 'OVER'}")


if __name__ == "__main__":
    asyncio.run(main())
