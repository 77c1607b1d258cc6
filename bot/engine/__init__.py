"""The Discord-free, storage-free core: items, tools, permissions, the loop and its API adapters."""
