"""Every fixed text the bot writes in Discord, in English and Simplified Chinese, chosen by the member's locale."""

from __future__ import annotations

from typing import Literal

from bot.discord_adapter.messages_files import FILES_CATALOG
from bot.discord_adapter.messages_mcp import MCP_CATALOG
from bot.discord_adapter.messages_usage import USAGE_CATALOG

Language = Literal["en", "zh-CN"]
ENGLISH: Language = "en"
CHINESE: Language = "zh-CN"

# key -> {language: template}; templates take str.format fields. English is required, others fall back to it.
CATALOG: dict[str, dict[Language, str]] = {
    # -- answers, failures and notes ------------------------------------------------------------------------
    "answer.empty": {
        "en": "(The assistant finished without writing an answer. Please try asking again.)",
        "zh-CN": "（助手没有写出回答。请再问一次。）",
    },
    "answer.cut_short": {
        "en": "I ran out of tool-call rounds before I could finish; here is as far as I got.",
        "zh-CN": "在完成之前我已用完工具调用轮数；以上是我目前的进展。",
    },
    "failure.generic": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "zh-CN": "抱歉，我这边出了点问题。请稍后再试。",
    },
    "note.cut_short": {
        "en": "I stopped early after too many tool rounds, so this answer may be incomplete.",
        "zh-CN": "工具调用轮数过多，我提前停止了，所以这个回答可能不完整。",
    },
    "note.thread_limit": {
        "en": "This server has reached its limit of active threads, so I'm answering here instead.",
        "zh-CN": "本服务器的活跃子区已达上限，所以我在这里回答。",
    },
    "note.thread_forbidden": {
        "en": "I'm not allowed to create threads here, so I'm answering in the channel.",
        "zh-CN": "我没有在这里创建子区的权限，所以我在频道里回答。",
    },
    "note.thread_failed": {
        "en": "I couldn't open a thread, so I'm answering here instead.",
        "zh-CN": "我无法创建子区，所以我在这里回答。",
    },
    "note.forced_fallback": {
        "en": "This model server could not force `{tool}`, so the model chose its tools freely.",
        "zh-CN": "这个模型服务器无法强制使用 `{tool}`，所以模型自行选择了工具。",
    },
    "note.required_ignored": {
        "en": "A tool was required, but the model server answered without calling one.",
        "zh-CN": "要求使用工具，但模型服务器没有调用任何工具就回答了。",
    },
    "note.forced_ignored": {
        "en": "`{tool}` was requested, but the model server did not call it; this answer is without it.",
        "zh-CN": "已要求使用 `{tool}`，但模型服务器没有调用它；这个回答没有用到它。",
    },
    "reason.disabled": {"en": "the tool is disabled in this server", "zh-CN": "此工具已在本服务器停用"},
    "reason.dm": {
        "en": "the tool is only available in a server, not in direct messages",
        "zh-CN": "此工具只能在服务器中使用，不能在私信中使用",
    },
    "reason.roles": {
        "en": "the tool is limited to certain roles in this server, and you have none of them",
        "zh-CN": "此工具在本服务器仅限特定身份组使用，而你没有这些身份组",
    },
    "reason.admins": {
        "en": "the tool is restricted to server admins until an admin allows a role",
        "zh-CN": "在管理员允许某个身份组之前，此工具仅限服务器管理员使用",
    },
    "reason.not_member": {"en": "you are not a member of that server", "zh-CN": "你不是那个服务器的成员"},
    "reason.no_tools": {"en": "no tools are available to you here", "zh-CN": "这里没有你可以使用的工具"},
    "reason.no_such_tool": {"en": "there is no tool by that name", "zh-CN": "没有这个名字的工具"},
    "hint.empty_mention": {
        "en": "Hi! Mention me with a question, or use `/ask`.",
        "zh-CN": "你好！提及我并附上问题，或使用 `/ask`。",
    },
    "hint.no_text": {
        "en": "I read text and files, not stickers: please say in words what you'd like.",
        "zh-CN": "我能读文字和文件，但读不了贴纸：请用文字说明你的需求。",
    },
    "thread.chat_with": {"en": "Chat with {name}", "zh-CN": "与 {name} 的对话"},
    "thread.question_from": {"en": "Question from {name}", "zh-CN": "{name} 的问题"},
    "ask.thread_opened": {"en": "I opened {thread} for your question.", "zh-CN": "我为你的问题开了 {thread}。"},
    "ask.asked": {"en": "**{name}** asked:\n{prompt}", "zh-CN": "**{name}** 问：\n{prompt}"},
    "ask.attached": {"en": "📎 {files}", "zh-CN": "📎 {files}"},
    # -- trace and progress ---------------------------------------------------------------------------------
    "trace.title": {"en": "Tools used", "zh-CN": "使用的工具"},
    "trace.more": {"en": "… and {count} more", "zh-CN": "……还有 {count} 项"},
    "trace.seconds": {"en": "{seconds:.1f} s", "zh-CN": "{seconds:.1f} 秒"},
    "outcome.ok": {"en": "", "zh-CN": ""},
    "outcome.invalid": {"en": "invalid arguments", "zh-CN": "参数无效"},
    "outcome.denied": {"en": "denied", "zh-CN": "被拒绝"},
    "outcome.error": {"en": "failed", "zh-CN": "失败"},
    "outcome.timeout": {"en": "timed out", "zh-CN": "超时"},
    "outcome.skipped": {"en": "skipped", "zh-CN": "已跳过"},
    "outcome.declined": {"en": "not confirmed", "zh-CN": "未确认"},
    "progress.title": {"en": "Working on it…", "zh-CN": "正在处理……"},
    "progress.running": {"en": "running", "zh-CN": "进行中"},
    "progress.waiting": {"en": "waiting for your confirmation", "zh-CN": "等待你确认"},
    "progress.earlier": {"en": "… {count} earlier calls", "zh-CN": "……之前的 {count} 次调用"},
    # -- errors (ConciergeError.key) ------------------------------------------------------------------------
    "error.generic": {"en": "Something went wrong.", "zh-CN": "出了点问题。"},
    "error.tool_choice_refused": {
        "en": "You can't use `{tool}` here: {reason}.",
        "zh-CN": "你不能在这里使用 `{tool}`：{reason}。",
    },
    "error.model": {
        "en": "The model server failed to answer. Please try again.",
        "zh-CN": "模型服务器没有给出回答。请再试一次。",
    },
    "error.model_unavailable": {
        "en": "The model server is not responding right now. Please try again in a minute.",
        "zh-CN": "模型服务器暂时没有响应。请一分钟后再试。",
    },
    "error.rate_limited": {
        "en": "The model server is busy (rate limited). Please try again in a minute.",
        "zh-CN": "模型服务器正忙（请求受限）。请一分钟后再试。",
    },
    "error.quota_exhausted": {
        "en": "The bot's model account has run out of quota. A server admin needs to check the API billing.",
        "zh-CN": "机器人的模型账户额度已用完。需要服务器管理员检查 API 账单。",
    },
    "error.model_misconfigured": {
        "en": "The bot is misconfigured and cannot reach its model. A server admin needs to check its settings.",
        "zh-CN": "机器人配置有误，无法连接模型。需要服务器管理员检查设置。",
    },
    "error.model_rejected": {
        "en": "The model server refused this request. Please rephrase or try again.",
        "zh-CN": "模型服务器拒绝了这个请求。请换个说法或再试一次。",
    },
    "error.not_allowed.not_starter": {
        "en": "Only the member who started this conversation or a server admin can clear it.",
        "zh-CN": "只有发起这段对话的成员或服务器管理员可以清除它。",
    },
    "error.not_allowed.server_only": {
        "en": "Tool settings belong to a server: use this command in a server channel.",
        "zh-CN": "工具设置属于服务器：请在服务器频道中使用此命令。",
    },
    "error.not_allowed.not_admin": {
        "en": "Only server admins (Administrator or Manage Server) can do that.",
        "zh-CN": "只有服务器管理员（拥有“管理员”或“管理服务器”权限）可以这样做。",
    },
    "error.not_allowed.no_usage": {
        "en": "Usage is not recorded by this bot.",
        "zh-CN": "此机器人不记录用量。",
    },
    "error.quota_reached.member": {
        "en": "You've reached your daily limit of {limit} tokens. It resets at midnight UTC (in {resets_in}).",
        "zh-CN": "你已达到每日 {limit} 个 token 的上限。上限将在 UTC 午夜重置（还有 {resets_in}）。",
    },
    "error.quota_reached.server": {
        "en": "You've reached this server's daily limit of {limit} tokens. It resets at midnight UTC (in {resets_in}).",
        "zh-CN": "已达到本服务器每日 {limit} 个 token 的上限。上限将在 UTC 午夜重置（还有 {resets_in}）。",
    },
    "duration.hours_minutes": {"en": "{hours} h {minutes} min", "zh-CN": "{hours} 小时 {minutes} 分钟"},
    "duration.minutes": {"en": "{minutes} min", "zh-CN": "{minutes} 分钟"},
    "error.unknown_tool": {
        "en": "There is no tool `{tool}`. Tools: {tools}.",
        "zh-CN": "没有名为 `{tool}` 的工具。可用工具：{tools}。",
    },
    "error.shutting_down": {
        "en": "I'm restarting right now. Please send that again in a minute.",
        "zh-CN": "我正在重启。请一分钟后再发一次。",
    },
    "error.channel_busy": {
        "en": "I'm still working through earlier messages here. Please wait a moment and send it again.",
        "zh-CN": "我还在处理这里之前的消息。请稍等片刻后再发送。",
    },
    "error.slow_down": {
        "en": "You're sending requests faster than I can take them. Please try again in {seconds} seconds.",
        "zh-CN": "你发送请求的速度超过了我的处理能力。请 {seconds} 秒后再试。",
    },
    "error.slow_down.one": {
        "en": "You're sending requests faster than I can take them. Please try again in 1 second.",
        "zh-CN": "你发送请求的速度超过了我的处理能力。请 1 秒后再试。",
    },
    # -- command replies ------------------------------------------------------------------------------------
    "policy.enabled": {"en": "`{tool}` is now enabled in this server.", "zh-CN": "`{tool}` 已在本服务器启用。"},
    "policy.disabled": {"en": "`{tool}` is now disabled in this server.", "zh-CN": "`{tool}` 已在本服务器停用。"},
    "policy.confirm_always": {
        "en": "`{tool}` now asks the member to confirm every call before it runs.",
        "zh-CN": "`{tool}` 现在每次调用前都会请成员确认。",
    },
    "policy.confirm_never": {
        "en": "`{tool}` now runs without asking the member to confirm.",
        "zh-CN": "`{tool}` 现在无需成员确认即可运行。",
    },
    "policy.role_allowed": {
        "en": "Members with the role {role} may now use `{tool}`.",
        "zh-CN": "拥有身份组 {role} 的成员现在可以使用 `{tool}`。",
    },
    "policy.role_revoked": {
        "en": "The role {role} is no longer on the allow-list of `{tool}`.",
        "zh-CN": "身份组 {role} 已从 `{tool}` 的允许列表中移除。",
    },
    "tools.none": {"en": "No tools are available here.", "zh-CN": "这里没有可用的工具。"},
    "tools.header_in": {"en": "Tools in **{guild}**:", "zh-CN": "**{guild}** 中的工具："},
    "tools.header_here": {"en": "Tools here:", "zh-CN": "这里的工具："},
    "tools.disabled": {"en": "disabled in this server", "zh-CN": "在本服务器已停用"},
    "tools.not_for_you": {"en": "not for you", "zh-CN": "你不能使用"},
    "tools.not_for_you_because": {"en": "not for you: {reason}", "zh-CN": "你不能使用：{reason}"},
    "tools.confirms": {"en": "asks the member to confirm each call", "zh-CN": "每次调用都需成员确认"},
    "tools.roles": {"en": "roles: {roles}", "zh-CN": "身份组：{roles}"},
    "tools.admins_only": {"en": "admins only until a role is allowed", "zh-CN": "在允许某个身份组之前仅限管理员"},
    "audit.none": {"en": "No matching audit entries.", "zh-CN": "没有匹配的审计记录。"},
    "audit.confirmation": {"en": "confirmation {outcome}", "zh-CN": "确认：{outcome}"},
    "history.none": {"en": "There was no history to clear here.", "zh-CN": "这里没有可清除的历史记录。"},
    "history.cleared": {
        "en": "Cleared this conversation's history ({count} items).",
        "zh-CN": "已清除这段对话的历史记录（{count} 条）。",
    },
    "history.cleared.one": {
        "en": "Cleared this conversation's history (1 item).",
        "zh-CN": "已清除这段对话的历史记录（1 条）。",
    },
    # -- confirmations --------------------------------------------------------------------------------------
    "confirm.request": {
        "en": "<@{asker}>, please confirm before I do this:\n> {summary}\n"
        "Only {name} can answer. The buttons expire <t:{expires}:R>.",
        "zh-CN": "<@{asker}>，在我执行之前请确认：\n> {summary}\n只有 {name} 可以回答。按钮将于 <t:{expires}:R> 失效。",
    },
    "confirm.button.yes": {"en": "Confirm", "zh-CN": "确认"},
    "confirm.button.no": {"en": "Cancel", "zh-CN": "取消"},
    "confirm.only_asker": {"en": "Only {name} can confirm this.", "zh-CN": "只有 {name} 可以确认此操作。"},
    "confirm.confirmed": {"en": "✅ Confirmed by {name}.", "zh-CN": "✅ 已由 {name} 确认。"},
    "confirm.declined": {
        "en": "✖ Cancelled by {name}: nothing was done.",
        "zh-CN": "✖ 已由 {name} 取消：未执行任何操作。",
    },
    "confirm.timed_out": {"en": "⌛ No answer in time: nothing was done.", "zh-CN": "⌛ 未及时回答：未执行任何操作。"},
    "confirm.unavailable": {"en": "⏹ Not asked: nothing was done.", "zh-CN": "⏹ 未询问：未执行任何操作。"},
    "confirm.interrupted": {
        "en": "⏹ I'm restarting, so nothing was done. Please ask again in a minute.",
        "zh-CN": "⏹ 我正在重启，所以未执行任何操作。请一分钟后再问。",
    },
    "confirm.expired_press": {
        "en": "This request has expired, please ask again.",
        "zh-CN": "此请求已过期，请重新提问。",
    },
    "confirm.expired_line": {
        "en": "⌛ Expired: I restarted before an answer, so nothing was done.",
        "zh-CN": "⌛ 已过期：我在收到回答前重启了，所以未执行任何操作。",
    },
    # -- slash command and option descriptions (names stay as they are) ------------------------------------
    # -- what a confirmation asks (the tools' previews; English comes from the tool itself) ---------------------
    "preview.run": {"en": "Run {tool}.", "zh-CN": "运行 {tool}。"},
    "preview.run_with": {"en": "Run {tool} with {arguments}.", "zh-CN": "运行 {tool}，参数：{arguments}。"},
    "preview.book": {
        "en": "Book a table for {party} at {restaurant} ({address}) on {weekday} {date} at {time} ({timezone} time).",
        "zh-CN": "预订 {restaurant}（{address}）{date}（{weekday}）{time}（{timezone} 时间）的 {party} 人餐桌。",
    },
    "preview.book_existing": {
        "en": "You already have this booking: {party} at {restaurant} ({address}) on {weekday} {date} at {time}.",
        "zh-CN": "你已经有这个预订：{restaurant}（{address}）{date}（{weekday}）{time}，{party} 人；不会重复预订。",
    },
    "preview.cancel": {
        "en": "Cancel booking #{booking_id}: {party} at {restaurant} on {weekday} {date} at {time} ({timezone} time).",
        "zh-CN": "取消预订 #{booking_id}：{restaurant} {date}（{weekday}）{time}（{timezone} 时间）的 {party} 人餐桌。",
    },
    "preview.cancel_already": {
        "en": "Booking #{booking_id} is already cancelled; nothing will change.",
        "zh-CN": "预订 #{booking_id} 已经取消，不会有任何变化。",
    },
    "weekday.0": {"en": "Monday", "zh-CN": "星期一"},
    "weekday.1": {"en": "Tuesday", "zh-CN": "星期二"},
    "weekday.2": {"en": "Wednesday", "zh-CN": "星期三"},
    "weekday.3": {"en": "Thursday", "zh-CN": "星期四"},
    "weekday.4": {"en": "Friday", "zh-CN": "星期五"},
    "weekday.5": {"en": "Saturday", "zh-CN": "星期六"},
    "weekday.6": {"en": "Sunday", "zh-CN": "星期日"},
    "cmd.usage": {
        "en": "Tokens used today and this month (admins: any member's or the server's)",
        "zh-CN": "今天和本月使用的 token（管理员可查看任一成员或整个服务器）",
    },
    "cmd.usage.member": {"en": "Admins: this member's usage", "zh-CN": "管理员：此成员的用量"},
    "cmd.usage.server": {
        "en": "Admins: the server's total, top members and quotas",
        "zh-CN": "管理员：服务器总量、用量最多的成员和配额",
    },
    "cmd.quota": {
        "en": "Daily token quotas in this server (admins; 0 = unlimited)",
        "zh-CN": "本服务器的每日 token 配额（管理员；0 表示不限）",
    },
    "cmd.quota.member": {"en": "Daily tokens each member may use here", "zh-CN": "每位成员在这里每天可用的 token"},
    "cmd.quota.server": {"en": "Daily tokens the whole server may use", "zh-CN": "整个服务器每天可用的 token"},
    "cmd.quota.role": {
        "en": "Daily tokens for members with a role (overrides the member quota)",
        "zh-CN": "拥有某身份组的成员每天可用的 token（优先于成员配额）",
    },
    "cmd.quota.reset": {
        "en": "Back to the default quota (the bot's settings) for one scope",
        "zh-CN": "将某一范围的配额恢复为默认值（机器人的设置）",
    },
    "cmd.quota.tokens": {"en": "Tokens a day (0 = unlimited)", "zh-CN": "每天的 token 数（0 表示不限）"},
    "cmd.quota.scope": {"en": "Which quota: member, server or role", "zh-CN": "哪一种配额：成员、服务器或身份组"},
    "cmd.quota.role_option": {"en": "The role", "zh-CN": "身份组"},
    "cmd.ask": {
        "en": "Ask the assistant; it may use this server's tools.",
        "zh-CN": "向助手提问；它可能会使用本服务器的工具。",
    },
    "cmd.ask.prompt": {"en": "What you want to ask", "zh-CN": "你想问的内容"},
    "cmd.ask.tool": {
        "en": "auto (default), required, none, or one tool to use",
        "zh-CN": "auto（默认）、required、none，或指定一个工具",
    },
    "cmd.ask.file": {
        "en": "A file for the assistant to read: an image, a text file or a PDF",
        "zh-CN": "让助手读取的文件：图片、文本文件或 PDF",
    },
    "cmd.tools": {"en": "The assistant's tools", "zh-CN": "助手的工具"},
    "cmd.tools.list": {
        "en": "Which tools are on here, and which you may use",
        "zh-CN": "这里启用了哪些工具，以及你可以使用哪些",
    },
    "cmd.tooladmin": {
        "en": "Manage the assistant's tools in this server (admins)",
        "zh-CN": "管理本服务器中助手的工具（管理员）",
    },
    "cmd.tooladmin.enable": {"en": "Turn a tool on in this server", "zh-CN": "在本服务器启用一个工具"},
    "cmd.tooladmin.disable": {"en": "Turn a tool off in this server", "zh-CN": "在本服务器停用一个工具"},
    "cmd.tooladmin.allow": {"en": "Let members with a role use a tool", "zh-CN": "允许拥有某身份组的成员使用一个工具"},
    "cmd.tooladmin.revoke": {
        "en": "Take a role off a tool's allow-list",
        "zh-CN": "将一个身份组从工具的允许列表中移除",
    },
    "cmd.tooladmin.confirm": {
        "en": "Whether members must confirm each call of a tool before it runs",
        "zh-CN": "成员是否必须在工具每次运行前确认",
    },
    "cmd.tooladmin.confirm.tool": {"en": "The tool", "zh-CN": "工具"},
    "cmd.tooladmin.tool": {"en": "The tool to change", "zh-CN": "要更改的工具"},
    "cmd.tooladmin.allow.role": {"en": "The role that may use the tool", "zh-CN": "可以使用该工具的身份组"},
    "cmd.tooladmin.revoke.role": {"en": "The role to take off the allow-list", "zh-CN": "要从允许列表中移除的身份组"},
    "cmd.tooladmin.confirm.mode": {
        "en": "always: ask with buttons first (default for tools with side effects); never: just run",
        "zh-CN": "always：先用按钮询问（有副作用的工具默认如此）；never：直接运行",
    },
    "cmd.audit": {"en": "Recent tool calls and policy changes (admins)", "zh-CN": "最近的工具调用和策略变更（管理员）"},
    "cmd.audit.tool": {"en": "Only this tool", "zh-CN": "仅此工具"},
    "cmd.audit.user": {"en": "Only this member", "zh-CN": "仅此成员"},
    "cmd.history": {"en": "This conversation's history", "zh-CN": "这段对话的历史记录"},
    "cmd.history.clear": {
        "en": "Forget this channel's conversation (thread starter or admin)",
        "zh-CN": "清除此频道的对话（子区发起人或管理员）",
    },
    **FILES_CATALOG,
    **MCP_CATALOG,
    **USAGE_CATALOG,
}


def language_of(locale: object) -> Language:
    """The language for a Discord locale (`discord.Locale` or its value): Simplified Chinese for zh-CN only,
    English for every other locale, zh-TW included (it reads Traditional characters), and for none."""
    value = getattr(locale, "value", locale)
    return CHINESE if value == "zh-CN" else ENGLISH


def say(language: Language, key: str, **params: object) -> str:
    """The text for `key` in `language` (English when that language lacks it), with `params` filled in (a list or
    tuple of names as `a`, `b`)."""
    texts = CATALOG[key]
    shown = {name: _names(value) if isinstance(value, list | tuple) else value for name, value in params.items()}
    return texts.get(language, texts[ENGLISH]).format(**shown)


def _names(values: list[object] | tuple[object, ...]) -> str:
    return ", ".join(f"`{value}`" for value in values)
