"""The fixed texts about members' files (why one did not reach the model), in English and Simplified Chinese; part of
messages.CATALOG."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.discord_adapter.messages import Language

FILES_CATALOG: dict[str, dict[Language, str]] = {
    "note.file_too_large": {
        "en": "`{file}` was not read: it is larger than files I read.",
        "zh-CN": "未读取 `{file}`：它超出了我能读取的文件大小。",
    },
    "note.file_too_large.limit": {
        "en": "`{file}` was not read: it is larger than {limit}, the most I read.",
        "zh-CN": "未读取 `{file}`：它超过了我能读取的上限 {limit}。",
    },
    "note.file_unsupported": {
        "en": "`{file}` was not read: I read images, text files and PDFs, not this type.",
        "zh-CN": "未读取 `{file}`：我只读取图片、文本文件和 PDF，不读取这种类型。",
    },
    "note.file_too_many_images": {
        "en": "`{file}` was not sent: that is more images than I take in one message.",
        "zh-CN": "未发送 `{file}`：一条消息中的图片数量超出了上限。",
    },
    "note.file_too_many_images.limit": {
        "en": "`{file}` was not sent: I take at most {limit} images from one message.",
        "zh-CN": "未发送 `{file}`：每条消息最多发送 {limit} 张图片。",
    },
    "note.file_no_vision": {
        "en": "`{file}` was not sent: this model cannot see images.",
        "zh-CN": "未发送 `{file}`：这个模型无法查看图片。",
    },
    "note.file_unreadable": {
        "en": "`{file}` could not be read: it is damaged or not what its name says.",
        "zh-CN": "无法读取 `{file}`：文件已损坏，或与其名称所示的类型不符。",
    },
    "note.file_download_failed": {
        "en": "`{file}` could not be downloaded from Discord.",
        "zh-CN": "无法从 Discord 下载 `{file}`。",
    },
}
