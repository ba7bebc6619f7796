"""Console mode: the bot's own cogs and renderers, with a terminal instead of Discord.

A typed line such as ``/migrations dev`` or ``/hotfix declare env:dev
summary:"..."`` is resolved against the bot's command tree, its options are
converted and checked like Discord would (choices, types, required), and the
command's callback runs with a ``ConsoleInteraction``: an object shaped like
``discord.Interaction`` whose replies are printed. Posts to #alerts or
#engineering go through ``ConsolePoster`` and are printed with the channel's
name. Buttons are listed under their message and pressed with ``/press``.

The console has no gateway, so jobs that wait for it (a cog's loop started
``before_loop`` ``wait_until_ready``) never start. Instead the console runs
every cog's ``run_follow_up()`` (e.g. the hotfix follow-through: journal
replay, auto-link, sync check, reminders) itself: once at start, after each
command or button press, and, in an interactive session, every
``FOLLOW_UP_SECONDS`` while the prompt waits. The runs never overlap, and
what they post shows up like any other #alerts post.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import shlex
import tempfile
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import discord
from discord import app_commands

from bot.chat.channels import ChannelKey, PostRef
from bot.chat.poster import LegacyBridge
from bot.core.redact import redact
from bot.errors import EXIT_OUTPUT_CLOSED, discard_output

log = logging.getLogger(__name__)

_ids = itertools.count(1)
RULE = "─" * 60
FOLLOW_UP_SECONDS = 300.0  # like the bot's loops; only while an interactive prompt waits


# --------------------------------------------------------------------------- printing


_MARKDOWN_ESCAPE = re.compile(r"\\([_*~`|>#\-\\])")


def terminal_text(text: str) -> str:
    """Discord markdown made plain for a terminal: no bold markers, no escaping backslashes."""
    return _MARKDOWN_ESCAPE.sub(r"\1", text.replace("**", ""))


def embed_to_text(embed: discord.Embed) -> str:
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
    return terminal_text("\n".join(lines))


def _button_label(item: discord.ui.Item) -> str | None:
    label = getattr(item, "label", None)
    if label is None:
        emoji = getattr(item, "emoji", None)
        label = str(emoji) if emoji else None
    return label


def _normalise(label: str) -> str:
    return re.sub(r"[^\w]+", " ", label.lower()).strip()


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

    def save(self, file: discord.File) -> Path:
        file.fp.seek(0)
        data = file.fp.read()
        file.fp.seek(0)
        name = Path(file.filename or "attachment.bin").name
        target = self.files_dir() / name
        target.write_bytes(data if isinstance(data, bytes) else str(data).encode())
        return target

    def message(
        self,
        *,
        label: str,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        files: Sequence[discord.File] = (),
        view: discord.ui.View | None = None,
    ) -> None:
        self.line(f"{label}")
        if content:
            self.line(content)
        for embed in embeds:
            self.line(embed_to_text(embed))
        for file in files:
            self.line(f"📎 {file.filename} saved to {self.save(file)}")
        if isinstance(view, discord.ui.View):
            buttons = []
            for item in view.children:
                text = _button_label(item)
                if text is None:
                    continue
                buttons.append(f"[{text}{' (disabled)' if getattr(item, 'disabled', False) else ''}]")
            if buttons:
                self.line("buttons: " + " ".join(buttons) + "   (press one with /press <label>)")
        self.line(RULE)


def _collect(kwargs: dict, key: str, many: str) -> list:
    found = list(kwargs.get(many) or [])
    if kwargs.get(key) not in (None, discord.utils.MISSING):
        found.append(kwargs[key])
    return found


def _clean(value: Any) -> Any:
    return None if value is discord.utils.MISSING else value


# --------------------------------------------------------------------------- people and places


@dataclass
class ConsoleRole:
    id: int
    name: str = "role"

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass
class ConsoleUser:
    """The person at the terminal, shaped like a guild member."""

    id: int
    name: str
    roles: list[ConsoleRole] = field(default_factory=list)
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.name

    global_name = display_name

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def get_role(self, role_id: int) -> ConsoleRole | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def __str__(self) -> str:
        return self.name


@dataclass
class ConsoleGuild:
    id: int
    name: str = "console"


@dataclass
class ConsoleChannel:
    id: int
    name: str = "console"

    @property
    def mention(self) -> str:
        return f"#{self.name}"


@dataclass
class ConsoleAttachment:
    """A local file given as an attachment option (``sql:path/to/file.sql``)."""

    path: Path

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def content_type(self) -> str:
        return "text/plain" if self.path.suffix in (".sql", ".txt", ".md") else "application/octet-stream"

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    async def read(self) -> bytes:
        return await asyncio.to_thread(self.path.read_bytes)


# --------------------------------------------------------------------------- messages and interactions


class ConsoleMessage:
    def __init__(self, console: Console, label: str, view: discord.ui.View | None):
        self.id = next(_ids)
        self._console = console
        self._label = label
        self.view = view

    async def edit(self, **kwargs) -> ConsoleMessage:
        view = kwargs.get("view", self.view)
        self.view = _clean(view)
        self._console.show(
            f"{self._label} (edited)",
            content=_clean(kwargs.get("content")),
            embeds=_collect(kwargs, "embed", "embeds"),
            files=_collect(kwargs, "attachments", "files") if kwargs.get("files") else [],
            view=self.view,
        )
        return self

    async def delete(self, **_) -> None:
        self._console.printer.line(f"{self._label} (deleted)")

    async def reply(self, content: str | None = None, **kwargs) -> ConsoleMessage:
        return await self._console.followup_message(content=content, **kwargs)


class ConsoleResponse:
    def __init__(self, interaction: ConsoleInteraction):
        self._interaction = interaction
        self._done = False
        self.deferred = False

    def is_done(self) -> bool:
        return self._done

    def _answer(self) -> None:
        if self._done:
            raise discord.InteractionResponded(self._interaction)  # type: ignore[arg-type]
        self._done = True

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        self._answer()
        self.deferred = True
        if thinking:
            self._interaction.console.printer.line("(the bot is thinking…)")

    async def send_message(self, content: str | None = None, **kwargs) -> None:
        self._answer()
        message = await self._interaction.console.followup_message(content=content, **kwargs)
        self._interaction.original = message

    async def edit_message(self, **kwargs) -> None:
        self._answer()
        target = self._interaction.message
        if target is not None:
            await target.edit(**kwargs)

    async def send_modal(self, modal: discord.ui.Modal) -> None:
        self._answer()
        self._interaction.console.printer.line(
            f"(the bot opened a form, '{modal.title}'; forms are not available in the console)"
        )

    async def autocomplete(self, choices) -> None:
        self._answer()


class ConsoleFollowup:
    def __init__(self, interaction: ConsoleInteraction):
        self._interaction = interaction

    async def send(self, content: str | None = None, **kwargs) -> ConsoleMessage:
        return await self._interaction.console.followup_message(content=content, **kwargs)


class ConsoleInteraction:
    """Duck-typed like ``discord.Interaction`` for what cogs use."""

    def __init__(self, console: Console, *, message: ConsoleMessage | None = None):
        self.console = console
        self.id = next(_ids)
        self.client = console.bot
        self.user = console.user
        self.guild = console.guild
        self.guild_id = console.guild.id
        self.channel = console.channel
        self.channel_id = console.channel.id
        self.type = discord.InteractionType.component if message else discord.InteractionType.application_command
        self.message = message
        self.command = None
        self.namespace = types.SimpleNamespace()
        self.extras: dict = {}
        self.locale = discord.Locale.british_english
        self.guild_locale = discord.Locale.british_english
        self.permissions = discord.Permissions.all()
        self.app_permissions = discord.Permissions.all()
        self.created_at = discord.utils.utcnow()
        self.response = ConsoleResponse(self)
        self.followup = ConsoleFollowup(self)
        self.original: ConsoleMessage | None = None

    def is_expired(self) -> bool:
        return False

    async def original_response(self) -> ConsoleMessage:
        if self.original is None:
            self.original = ConsoleMessage(self.console, "bot", None)
        return self.original

    async def edit_original_response(self, **kwargs) -> ConsoleMessage:
        original = await self.original_response()
        return await original.edit(**kwargs)

    async def delete_original_response(self) -> None:
        if self.original is not None:
            await self.original.delete()


# --------------------------------------------------------------------------- channel poster


class ConsolePoster(LegacyBridge):
    """A ChannelPoster that prints posts labelled with their channel, e.g. ``[#alerts]``."""

    def __init__(self, printer: Printer, channel_ids: dict[str, int | None] | None = None):
        self._printer = printer
        self._channel_ids = channel_ids or {}
        self._threads: dict[int, str] = {}
        # Set by the Console, so buttons on a channel post (a hotfix's Approve) can be pressed too.
        self.console: Console | None = None

    async def send(
        self,
        channel: ChannelKey,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        files: Sequence[discord.File] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        thread_name: str | None = None,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> PostRef:
        message_id = next(_ids)
        self._printer.message(label=f"[#{channel}]", content=content, embeds=embeds, files=files, view=view)
        if isinstance(view, discord.ui.View) and self.console is not None:
            self.console.last_view = (view, ConsoleMessage(self.console, f"[#{channel}]", view))
        thread_id = None
        if thread_name:
            thread_id = message_id
            self._threads[thread_id] = thread_name
            self._printer.line(f"[#{channel}] (opened thread “{thread_name}”)")
        return PostRef(channel, self._channel_ids.get(channel) or 0, message_id, thread_id)

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
        files: Sequence[discord.File] | None = None,
    ):
        self._printer.message(
            label=f"[#{ref.channel}] (edited post {ref.message_id})",
            content=content,
            embeds=embeds or (),
            files=files or (),
        )

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        nonce: str | None = None,
    ) -> PostRef:
        where = f"#{ref.channel}"
        if ref.thread_id is not None:
            where += f" › {self._threads.get(ref.thread_id, 'thread')}"
        self._printer.message(label=f"[{where}]", content=content, embeds=embeds)
        return PostRef(ref.channel, ref.channel_id, next(_ids), ref.thread_id)

    async def find_sent(
        self,
        channel: ChannelKey,
        *,
        nonce: str,
        since: float,
        content: str | None,
        embeds: Sequence[discord.Embed] = (),
    ) -> PostRef | None:
        return None  # printed lines cannot be looked up; a console session is short-lived anyway


# --------------------------------------------------------------------------- parsing typed commands


class InputError(Exception):
    """A typed line the console cannot run; the message says what to type instead."""


BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def command_paths(tree: app_commands.CommandTree) -> list[str]:
    """Every runnable command as typed, e.g. ``/hotfix declare``."""
    paths = []

    def walk(cmd, prefix: str) -> None:
        if isinstance(cmd, app_commands.Group):
            for sub in cmd.commands:
                walk(sub, f"{prefix} {sub.name}")
        elif isinstance(cmd, app_commands.Command):
            paths.append(prefix)

    for cmd in tree.get_commands(type=discord.AppCommandType.chat_input):
        walk(cmd, f"/{cmd.name}")
    return sorted(paths)


def _usage(cmd: app_commands.Command) -> str:
    parts = []
    for p in cmd.parameters:
        text = p.display_name
        if p.choices:
            text += ":" + "|".join(str(c.value) for c in p.choices)
        parts.append(text if p.required else f"[{text}]")
    return f"/{cmd.qualified_name} {' '.join(parts)}".rstrip()


def _convert(cmd: app_commands.Command, param: app_commands.Parameter, raw: str, console: Console) -> Any:
    name = param.display_name
    if param.choices:
        for choice in param.choices:
            if (
                raw == str(choice.value)
                or raw.lower() == choice.name.lower()
                or raw.lower() == str(choice.value).lower()
            ):
                return choice.value
        options = ", ".join(str(c.value) for c in param.choices)
        raise InputError(f"{name} must be one of: {options} (got {raw!r})")
    kind = param.type
    try:
        if kind is discord.AppCommandOptionType.integer:
            value: Any = int(raw)
        elif kind is discord.AppCommandOptionType.number:
            value = float(raw)
        elif kind is discord.AppCommandOptionType.boolean:
            if raw.lower() not in BOOLEANS:
                raise ValueError
            return BOOLEANS[raw.lower()]
        elif kind is discord.AppCommandOptionType.attachment:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise InputError(f"{name}: no file at {raw}; give the path of a local file")
            return ConsoleAttachment(path)
        elif kind in (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable):
            return console.user  # the only person in the console
        elif kind is discord.AppCommandOptionType.string:
            value = raw
        else:
            raise InputError(f"{name}: this option type ({kind.name}) is not available in the console")
    except ValueError:
        raise InputError(f"{name} must be a {kind.name} (got {raw!r})") from None
    if kind is discord.AppCommandOptionType.string:
        if param.min_value is not None and len(value) < param.min_value:
            raise InputError(f"{name} must be at least {param.min_value} characters")
        if param.max_value is not None and len(value) > param.max_value:
            raise InputError(f"{name} must be at most {param.max_value} characters (got {len(value)})")
    elif isinstance(value, (int, float)):
        if param.min_value is not None and value < param.min_value:
            raise InputError(f"{name} must be at least {param.min_value}")
        if param.max_value is not None and value > param.max_value:
            raise InputError(f"{name} must be at most {param.max_value}")
    return value


def resolve(tree: app_commands.CommandTree, tokens: list[str], console: Console) -> tuple[app_commands.Command, dict]:
    """The command a typed line names and its converted options, keyed by display name."""
    available = ", ".join(command_paths(tree))
    head = tokens[0]
    if not head.startswith("/") or len(head) == 1:
        raise InputError(f"commands start with /; available: {available}")
    cmd = tree.get_command(head[1:].lower())
    if cmd is None:
        raise InputError(f"unknown command {head}; available: {available}")
    rest = tokens[1:]
    while isinstance(cmd, app_commands.Group):
        subs = {c.name: c for c in cmd.commands}
        if not rest or rest[0].lower() not in subs:
            choices = ", ".join(f"/{cmd.qualified_name} {n}" for n in sorted(subs))
            if rest:
                raise InputError(f"unknown subcommand /{cmd.qualified_name} {rest[0]}; choose one of: {choices}")
            raise InputError(f"/{cmd.qualified_name} needs a subcommand: {choices}")
        cmd = subs[rest[0].lower()]
        rest = rest[1:]
    params = {p.display_name: p for p in cmd.parameters}
    values: dict[str, Any] = {}
    positional: list[str] = []
    for token in rest:
        key, sep, raw = token.partition(":")
        if sep and key in params:
            if key in values:
                raise InputError(f"{key} is given twice")
            values[key] = _convert(cmd, params[key], raw, console)
        else:
            positional.append(token)
    free = [p for p in cmd.parameters if p.display_name not in values]
    if len(positional) > len(free):
        raise InputError(f"too many values; usage: {_usage(cmd)}")
    for param, raw in zip(free, positional, strict=False):
        values[param.display_name] = _convert(cmd, param, raw, console)
    missing = [p for p in cmd.parameters if p.required and p.display_name not in values]
    if missing:
        p = missing[0]
        raise InputError(f"missing {p.display_name} ({p.description}); usage: {_usage(cmd)}")
    return cmd, values


# --------------------------------------------------------------------------- the console


HELP = (
    "Type a slash command as in Discord, e.g. /migrations dev or /migrations env:prod; "
    "options by position or name:value (quote values with spaces). "
    "/press <label> presses a button of the last message; /help lists commands; /quit leaves."
)


class Console:
    def __init__(self, bot, printer: Printer, user: ConsoleUser, guild: ConsoleGuild, channel: ConsoleChannel):
        self.bot = bot
        self.printer = printer
        self.user = user
        self.guild = guild
        self.channel = channel
        self.last_view: tuple[discord.ui.View, ConsoleMessage] | None = None
        self._follow_up_lock = asyncio.Lock()
        if isinstance(getattr(bot, "poster", None), ConsolePoster):
            bot.poster.console = self

    # Printing what the bot sends -------------------------------------------------

    def show(self, label: str, *, content=None, embeds=(), files=(), view=None) -> None:
        self.printer.message(label=label, content=content, embeds=embeds, files=files, view=view)

    async def followup_message(self, content: str | None = None, **kwargs) -> ConsoleMessage:
        view = _clean(kwargs.get("view"))
        label = "bot (only you can see this)" if kwargs.get("ephemeral") else "bot"
        message = ConsoleMessage(self, label, view)
        self.show(
            label,
            content=_clean(content),
            embeds=_collect(kwargs, "embed", "embeds"),
            files=_collect(kwargs, "file", "files"),
            view=view,
        )
        if isinstance(view, discord.ui.View) and not view.is_finished():
            view.message = message if hasattr(view, "message") else None
            self.last_view = (view, message)
        return message

    # The periodic jobs the gateway would start -----------------------------------------

    async def run_follow_ups(self) -> None:
        """One round of every cog's ``run_follow_up`` (one at a time; a failing job is logged, not raised)."""
        async with self._follow_up_lock:
            for cog in list(getattr(self.bot, "cogs", {}).values()):
                job = getattr(cog, "run_follow_up", None)
                if not callable(job):
                    continue
                try:
                    await job()
                except Exception:
                    log.exception("follow-up of %s failed", type(cog).__name__)

    async def _follow_up_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.run_follow_ups()

    # Running typed lines -----------------------------------------------------------

    async def handle_line(self, line: str) -> bool:
        """Run one typed line; False when the user asked to leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            self.printer.line(f"error: cannot read that line ({exc}); close your quotes")
            return True
        head = tokens[0].lower()
        if head in ("/quit", "/exit", "quit", "exit"):
            return False
        if head in ("/help", "help", "?"):
            self.printer.line(HELP)
            self.printer.line("commands: " + ", ".join(command_paths(self.bot.tree)))
            return True
        if head == "/press":
            await self.press(" ".join(tokens[1:]))
            await self.run_follow_ups()
            return True
        try:
            cmd, values = resolve(self.bot.tree, tokens, self)
        except InputError as exc:
            self.printer.line(f"error: {exc}")
            return True
        await self.invoke(cmd, values)
        await self.run_follow_ups()
        return True

    async def invoke(self, cmd: app_commands.Command, values: dict) -> None:
        interaction = ConsoleInteraction(self)
        namespace = types.SimpleNamespace(**values)
        interaction.command = cmd
        interaction.namespace = namespace
        try:
            if not await self.bot.tree.interaction_check(interaction):
                return
            # The same path the tree takes for a Discord interaction: checks, transformers, callback.
            await cmd._invoke_with_namespace(interaction, namespace)
        except app_commands.AppCommandError as error:
            await self.bot.tree.on_error(interaction, error)
        except Exception as error:  # never a traceback at the prompt
            await self.bot.tree.on_error(interaction, app_commands.CommandInvokeError(cmd, error))

    async def press(self, label: str) -> None:
        if self.last_view is None:
            self.printer.line("error: no message with buttons to press")
            return
        view, message = self.last_view
        wanted = _normalise(label)
        buttons = [i for i in view.children if _button_label(i) is not None]
        match = next((b for b in buttons if _normalise(_button_label(b)) == wanted), None)
        match = match or next((b for b in buttons if wanted and wanted in _normalise(_button_label(b))), None)
        if match is None:
            labels = ", ".join(_button_label(b) for b in buttons)
            self.printer.line(f"error: no button {label!r}; buttons: {labels}")
            return
        if getattr(match, "disabled", False) or view.is_finished():
            self.printer.line(f"error: the {_button_label(match)} button is disabled")
            return
        interaction = ConsoleInteraction(self, message=message)
        try:
            if await view.interaction_check(interaction):
                await match.callback(interaction)
        except Exception as error:
            await view.on_error(interaction, error, match)

    async def run(
        self,
        stdin: TextIO,
        *,
        interactive: bool,
        prompt: Callable[[str], str] = input,
        follow_up_seconds: float | None = FOLLOW_UP_SECONDS,
    ) -> int:
        if interactive:
            self.printer.line(HELP)
        await self.run_follow_ups()  # what the bot does once the gateway is ready
        ticker = None
        if interactive and follow_up_seconds:
            ticker = asyncio.create_task(self._follow_up_every(follow_up_seconds))
        try:
            return await self._read_lines(stdin, interactive=interactive, prompt=prompt)
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker

    async def _read_lines(self, stdin: TextIO, *, interactive: bool, prompt: Callable[[str], str]) -> int:
        while True:
            try:
                if interactive:
                    line = await _blocking_read(prompt, "dragonfly> ")
                else:
                    line = await _blocking_read(stdin.readline)
                    if line == "":
                        return 0
                    if line.strip():
                        self.printer.line(f"> {redact(line.strip())}")
            except EOFError:
                return 0
            if not await self.handle_line(line):
                return 0
            if self.printer.closed:
                return EXIT_OUTPUT_CLOSED


async def _blocking_read(read: Callable[..., str], *args) -> str:
    """``read(*args)`` (input() or readline()) in a daemon thread.

    Not the loop's default executor: on Ctrl-C, asyncio.run waits for that executor's
    threads before it returns, and a thread blocked reading the terminal never ends,
    so the console would hang until a line was typed.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(result: str | None, error: BaseException | None) -> None:
        if future.done():
            return  # cancelled meanwhile (Ctrl-C)
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = read(*args), None
        except BaseException as exc:  # EOFError, KeyboardInterrupt: the awaiting side decides
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return await future
