"""The fixed texts of /usage and /quota, in English and Simplified Chinese; part of messages.CATALOG."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.discord_adapter.messages import Language

USAGE_CATALOG: dict[str, dict[Language, str]] = {
    "usage.title.member": {
        "en": "**{whose} usage {where}** (days in UTC)",
        "zh-CN": "**{whose}{where}的用量**（按 UTC 日期）",
    },
    "usage.whose.self": {"en": "Your", "zh-CN": "你"},
    "usage.whose.other": {"en": "<@{user}>'s", "zh-CN": "<@{user}> "},
    "usage.where.server": {"en": "in **{server}**", "zh-CN": "在 **{server}** "},
    "usage.where.dm": {"en": "in your DMs", "zh-CN": "在私信中"},
    "usage.title.server": {"en": "**Usage {where}** (days in UTC)", "zh-CN": "**{where}的用量**（按 UTC 日期）"},
    "usage.today": {"en": "Today", "zh-CN": "今天"},
    "usage.month": {"en": "This month", "zh-CN": "本月"},
    "usage.totals": {
        "en": "{label}: {total} tokens (input {input} · output {output})",
        "zh-CN": "{label}：{total} 个 token（输入 {input} · 输出 {output}）",
    },
    "usage.estimated": {
        "en": " · {estimated} of {requests} requests estimated",
        "zh-CN": " · {requests} 次请求中有 {estimated} 次为估算",
    },
    "usage.cache": {
        "en": "Prompt cache: {share:.0f}% of input tokens this month ({cached} cached)",
        "zh-CN": "提示缓存：本月 {share:.0f}% 的输入 token 来自缓存（{cached} 个）",
    },
    "usage.top": {"en": "Top members this month: {ranked}", "zh-CN": "本月用量最多的成员：{ranked}"},
    "usage.quotas": {"en": "Quotas: {quotas}", "zh-CN": "配额：{quotas}"},
    "quota.each_member": {"en": "each member {quota}", "zh-CN": "每位成员 {quota}"},
    "quota.server": {"en": "the server {quota}", "zh-CN": "整个服务器 {quota}"},
    "quota.set_here": {"en": " (set here)", "zh-CN": "（本服务器设置）"},
    "quota.default": {"en": " (default)", "zh-CN": "（默认）"},
    "quota.unlimited": {"en": "unlimited", "zh-CN": "不限"},
    "quota.per_day": {"en": "{tokens} tokens a day", "zh-CN": "每天 {tokens} 个 token"},
    "quota.target.member": {"en": "each member", "zh-CN": "每位成员"},
    "quota.target.server": {"en": "the whole server", "zh-CN": "整个服务器"},
    "quota.target.role": {"en": "members with <@&{role}>", "zh-CN": "拥有 <@&{role}> 的成员"},
    "quota.now": {"en": "The daily quota for {target} is now {quota}.", "zh-CN": "{target}的每日配额现在是{quota}。"},
    "quota.back_to_default": {
        "en": "The daily quota for {target} is back to the default.",
        "zh-CN": "{target}的每日配额已恢复为默认值。",
    },
    "quota.name_the_role": {"en": "Name the role whose quota to reset.", "zh-CN": "请指定要重置配额的身份组。"},
}
