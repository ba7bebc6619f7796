"""What the bot sent, as terminal text: one block per message, embeds and buttons included.

The messages are real ``discord.Message``s read back from the virtual guild
(``VirtualGuild.changes_since``), so what is printed is what Discord received:
the header names the channel (``[#alerts]``, ``[#alerts › HF-0001 …]``), marks
edits and ephemeral answers, embeds become indented text, buttons
``[label]``, attachments are saved to a folder and named.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import discord

from dragonfly_bot.console.virtual_guild import Sent, buttons
from dragonfly_bot.errors import discard_output

RULE = "─" * 60
PRESS_HINT = "(press one with /press <label> or /press <number>)"

_MARKDOWN_ESCAPE = re.compile(r"\\([_*~`|>#\-\\])")
_MENTION = re.compile(r"<(?:@&|@!?|#)\d+>")


def terminal_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Discord markdown made plain for a terminal: no bold markers, no escaping backslashes,
    mentions as the names Discord would draw (``@devops-lead``)."""
    if names:
        text = _MENTION.sub(lambda m: names.get(m.group(0).replace("<@!", "<@"), m.group(0)), text)
    return _MARKDOWN_ESCAPE.sub(r"\1", text.replace("**", ""))


def embed_to_text(embed: discord.Embed, names: Mapping[str, str] | None = None) -> str:
    """An embed as readable text: author, title, description, fields, footer."""
    lines = []
    if embed.author.name:
        lines.append(embed.author.name)
    if embed.title:
        lines.append(f"▌ {embed.title}")
    if embed.description:
        lines.append(embed.description)
    inline: list[str] = []
    for f in embed.fields:
        if f.inline:
            inline.append(f"{f.name}: {f.value}")
            continue
        if inline:
            lines.append(" | ".join(inline))
            inline = []
        lines.append(f"{f.name}:")
        lines += [f"  {line}" for line in (f.value or "").splitlines()]
    if inline:
        lines.append(" | ".join(inline))
    if embed.footer.text:
        lines.append(f"— {embed.footer.text}")
    return terminal_text("\n".join(lines), names)


def button_line(message: discord.Message) -> str | None:
    shown = []
    for button in buttons(message):
        label = button.label or (str(button.emoji) if button.emoji else "")
        shown.append(f"[{label}{' (disabled)' if button.disabled else ''}]")
    return "buttons: " + " ".join(shown) + "   " + PRESS_HINT if shown else None


def header(sent: Sent) -> str:
    text = f"[{sent.channel}]"
    if sent.edited:
        text += " (edited)"
    if sent.ephemeral:
        text += " (only you can see this)"
    return text


class Printer:
    """Writes the bot's messages to the terminal and saves attached files."""

    def __init__(self, out: TextIO, files_dir: Path | None = None):
        self.out = out
        self._files_dir = files_dir
        self.closed = False  # the reader of ``out`` went away (piped into `head`)

    def files_dir(self) -> Path:
        if self._files_dir is None:
            self._files_dir = Path(tempfile.mkdtemp(prefix="dragonfly-console-"))
        self._files_dir.mkdir(parents=True, exist_ok=True)
        return self._files_dir

    def line(self, text: str = "") -> None:
        if self.closed:
            return
        encoding = getattr(self.out, "encoding", None) or "utf-8"
        # A Windows console may not encode emoji: never crash on it.
        try:
            self.out.write(text.encode(encoding, errors="replace").decode(encoding) + "\n")
            self.out.flush()
        except BrokenPipeError:
            # Nobody reads any more: not the command's failure; the console stops after it.
            self.closed = True
            discard_output(self.out)

    async def save(self, attachment: discord.Attachment) -> Path:
        target = self.files_dir() / Path(attachment.filename or "attachment.bin").name
        target.write_bytes(await attachment.read())
        return target

    async def sent(self, sent: Sent, names: Mapping[str, str] | None = None) -> None:
        message = sent.message
        self.line(header(sent))
        if message.content:
            self.line(terminal_text(message.content, names))
        for embed in message.embeds:
            self.line(embed_to_text(embed, names))
        if not sent.edited:  # an edit keeps its files: saved once
            for attachment in message.attachments:
                self.line(f"📎 {attachment.filename} saved to {await self.save(attachment)}")
        line = button_line(message)
        if line:
            self.line(line)
        self.line(RULE)
