"""Console mode: typed lines become slash commands and button presses in the virtual guild.

The real ``DragonflyBot`` runs in simcord's offline guild (``VirtualGuild``):
a typed ``/migrations dev`` is parsed against the bot's own command tree
(``dragonfly_bot.console.parse``) and sent by the console user through the gateway, so
discord.py's dispatch, option parsing, checks, the tree's error handler and
views all run as on Discord. Whatever the bot posted or edited since the last
line, in any channel or thread (ephemeral answers only when they are the
console user's), is then printed (``dragonfly_bot.console.render``).

Follow-up jobs: the cogs' ``tasks.loop``s start when the gateway is ready, as
on Discord, and keep their own timers. So that a command's consequences (the
hotfix follow-through's auto-link and sync) show up right under it rather
than minutes later, the console runs one pass of every started loop after each
command or button press, as if its timer had fired. Posts that arrive while
the prompt waits (a loop's timer, a click in the ``--web`` page) are printed
as they appear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import Callable
from typing import Any

import discord
import simcord
from discord.ext import tasks

from dragonfly_bot.console.parse import (
    InputError,
    asked_suggestions,
    command_paths,
    describe,
    did_you_mean,
    find_command,
    leaf_commands,
    resolve,
    subcommands,
)
from dragonfly_bot.console.render import Printer
from dragonfly_bot.console.virtual_guild import Mark, VirtualGuild, buttons, match_button
from dragonfly_bot.core.redact import redact

log = logging.getLogger(__name__)

HELP = (
    "Type a slash command as in Discord, e.g. /migrations dev or /migrations env:prod; "
    "options by position or name:value (quote values with spaces). "
    "/press <label> (or /press <number>) presses a button of the newest message that has it; "
    "option:? (or option:start?) lists the bot's suggestions for an option; "
    "/help lists commands, /help COMMAND describes one; /quit or Ctrl-D leaves."
)
LEAVE = ("/quit", "/exit", "quit", "exit")
HELP_WORDS = ("/help", "help", "?")
PRESS_WORDS = ("/press", "press", "click", "/click")
WATCH_SECONDS = 1.0


def started_loops(bot: discord.Client) -> list[tasks.Loop]:
    """Every ``tasks.loop`` of the bot's cogs that is running (found by type, not by name)."""
    found = []
    for cog in getattr(bot, "cogs", {}).values():
        for name, attribute in vars(type(cog)).items():
            if isinstance(attribute, tasks.Loop):
                loop = getattr(cog, name)  # the cog's own bound copy, the one that was started
                if loop.is_running():
                    found.append(loop)
    return found


class Console:
    def __init__(self, guild: VirtualGuild, printer: Printer, *, before_output: Callable[[], Any] | None = None):
        self.guild = guild
        self.printer = printer
        self.bot = guild.env.bot
        self._mark = Mark({})  # nothing shown yet: the first flush shows what the bot posted on start
        self._lock = asyncio.Lock()
        # Called before output that arrives while the prompt waits (the terminal clears its line).
        self.before_output = before_output
        self.after_output: Callable[[], Any] | None = None

    @property
    def tree(self) -> discord.app_commands.CommandTree:
        return self.bot.tree  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ printing what the bot sent

    async def flush(self) -> int:
        """Print what the bot posted or edited since the last flush; how many messages."""
        you = self.guild.you
        changes = self.guild.changes_since(self._mark, viewer=you)
        self._mark = self.guild.mark(viewer=you)
        names = self.guild.mention_names()
        for sent in changes:
            await self.printer.sent(sent, names)
        return len(changes)

    async def watch(self, every: float = WATCH_SECONDS) -> None:
        """Print, while the prompt waits, what arrives by itself (a loop's timer, a click on the web page)."""
        while True:
            await asyncio.sleep(every)
            async with self._lock:
                you = self.guild.you
                if not self.guild.changes_since(self._mark, viewer=you):
                    continue
                if self.before_output:
                    self.before_output()
                await self.flush()
                if self.after_output:
                    self.after_output()

    async def run_follow_ups(self) -> None:
        """One pass of every started cog loop, as if its timer fired (one at a time; failures logged)."""
        for loop in started_loops(self.bot):
            try:
                await loop()
            except Exception:
                log.exception("follow-up %s failed", getattr(loop.coro, "__qualname__", loop))
        try:
            await self.guild.env.settle()
        except TimeoutError:
            log.warning("the bot was still busy after its follow-up jobs; what it sends later is shown as it comes")

    # ------------------------------------------------------------------ running typed lines

    async def handle_line(self, line: str, *, echo: bool = False) -> bool:
        """Run one typed line and print what the bot did; False when the user asked to leave."""
        async with self._lock:
            line = line.strip()
            if echo and line:
                self.printer.line(f"> {redact(line)}")
            if not line or line.startswith("#"):
                return True
            try:
                tokens = shlex.split(line)
            except ValueError as exc:
                self.printer.line(f"error: cannot read that line ({exc}); close your quotes")
                return True
            head = tokens[0].lower()
            if head in LEAVE:
                return False
            try:
                if head in HELP_WORDS:
                    self.help(tokens[1:])
                    return True
                if head in PRESS_WORDS:
                    await self.press(" ".join(tokens[1:]))
                elif asked_suggestions(tokens) is not None:
                    await self.suggest(tokens)
                    return True
                else:
                    cmd, values = resolve(self.tree, tokens, self._person)
                    await self.guild.slash(cmd.qualified_name, **values)
            except InputError as exc:
                self.printer.line(f"error: {exc}")
                return True
            except simcord.SetupError as exc:  # what Discord itself would refuse (simcord says why)
                self.printer.line(f"error: {str(exc).splitlines()[0]}")
            except TimeoutError:
                self.printer.line(
                    f"error: the bot was still busy after {self.guild.env.settle_timeout:.0f} s; "
                    "what it sent so far is below (-v logs what it was waiting for)"
                )
                log.debug("the bot did not settle", exc_info=True)
            await self.run_follow_ups()
            await self.flush()
            return True

    def _person(self, name: str) -> Any:
        member = self.guild.members.get(name.lstrip("@"))
        if member is None:
            known = ", ".join(self.guild.members)
            raise InputError(f"no member {name!r} in the console's guild; members: {known}")
        return member

    async def suggest(self, tokens: list[str]) -> None:
        """``/hotfix link HF-0001 file:2025?``: what the bot's autocomplete offers for that option."""
        index = asked_suggestions(tokens)
        assert index is not None
        option, _, typed = tokens[index].partition(":")
        cmd, filled = resolve(self.tree, tokens[:index] + tokens[index + 1 :], self._person, partial=True)
        param = next((p for p in cmd.parameters if p.display_name == option), None)
        if param is None or not param.autocomplete:
            offered = ", ".join(p.display_name for p in cmd.parameters if p.autocomplete) or "none"
            raise InputError(f"/{cmd.qualified_name} has no suggestions for {option}; options with them: {offered}")
        filled.pop(option, None)
        choices = await self.guild.autocomplete(cmd.qualified_name, option, typed[:-1], **filled)
        if not choices:
            self.printer.line(f"no suggestions for {option}:{typed[:-1]}")
        for choice in choices:
            self.printer.line(f"  {option}:{choice['value']}")

    def help(self, words: list[str]) -> None:
        if not words:
            self.printer.line(HELP)
            for cmd in leaf_commands(self.tree):
                self.printer.line(f"  /{cmd.qualified_name}: {cmd.description}")
            return
        group = subcommands(self.tree, words[0]) if len(words) == 1 else None
        if group:
            for cmd in group:
                self.printer.line(f"  /{cmd.qualified_name}: {cmd.description}")
            return
        tokens = ["/" + words[0].lstrip("/"), *words[1:]]
        cmd, _ = find_command(self.tree, tokens)
        for line in describe(cmd):
            self.printer.line(line)

    async def press(self, wanted: str) -> None:
        """Press a button by label (newest message that has it enabled) or by number (newest message)."""
        you = self.guild.you
        offered = self.guild.with_buttons(you)
        if not offered:
            raise InputError("no message with buttons to press")
        if wanted.strip().isdigit():
            target = offered[0]
            choices = buttons(target)
            index = int(wanted) - 1
            if not 0 <= index < len(choices):
                raise InputError(f"the newest message has buttons 1 to {len(choices)}")
            button = choices[index]
        else:
            found = self.guild.find(wanted, you)
            target = found or offered[0]
            match = match_button(buttons(target), wanted)
            if match is None:
                labels = ", ".join(b.label or "" for b in buttons(target))
                hint = did_you_mean(wanted, [b.label or "" for b in buttons(target)])
                raise InputError(f"no button {wanted!r};{hint} buttons: {labels}")
            button = match
        if button.disabled:
            raise InputError(f"the {button.label} button is disabled")
        await you.click(target, custom_id=button.custom_id)

    def command_names(self) -> list[str]:
        """What tab completion offers: every command path, and the console's own words."""
        return [*command_paths(self.tree), "/help", "/press", "/quit"]


@contextlib.asynccontextmanager
async def watching(console: Console):
    task = asyncio.create_task(console.watch())
    try:
        yield console
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
