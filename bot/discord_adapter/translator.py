"""Slash command descriptions in the member's language: the catalog as discord.py's app_commands.Translator."""

from __future__ import annotations

from discord import Locale, app_commands

from bot.discord_adapter.messages import CATALOG, ENGLISH, language_of, say

_NAMES = frozenset(
    {
        app_commands.TranslationContextLocation.command_name,
        app_commands.TranslationContextLocation.group_name,
        app_commands.TranslationContextLocation.parameter_name,
        app_commands.TranslationContextLocation.choice_name,
    }
)


def described(key: str) -> app_commands.locale_str:
    """A command or option description: its English text, marked with the catalog key the translator looks up."""
    return app_commands.locale_str(say(ENGLISH, key), key=key)


class CatalogTranslator(app_commands.Translator):
    """Translates descriptions marked with a catalog key; names stay as they are, English is the default text."""

    async def translate(
        self, string: app_commands.locale_str, locale: Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        """The description in `locale`'s language, or None (Discord then shows the English default)."""
        key = string.extras.get("key")
        language = language_of(locale)
        if context.location in _NAMES or key not in CATALOG or language == ENGLISH:
            return None
        return CATALOG[key].get(language)
