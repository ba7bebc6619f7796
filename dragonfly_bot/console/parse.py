"""A typed line → the slash command it names and its options, read from the bot's own command tree.

``/hotfix declare env:dev summary:"drop: the index"`` or ``/hotfix declare dev
"fix it"``: options by position or ``name:value``. Values are checked the way
Discord checks them before the bot sees them (choices, types, lengths,
required), so a mistake is one line saying what to type instead; simcord then
sends the options to the bot as Discord would. ``/help`` and did-you-mean read
the same tree: nothing here lists commands by hand.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

Option = discord.AppCommandOptionType
BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


class InputError(Exception):
    """A typed line the console cannot run; the message says what to type instead."""


def _slash_commands(tree: app_commands.CommandTree) -> list[app_commands.Command | app_commands.Group]:
    found = tree.get_commands(type=discord.AppCommandType.chat_input)
    return [c for c in found if isinstance(c, app_commands.Command | app_commands.Group)]


def leaf_commands(tree: app_commands.CommandTree) -> list[app_commands.Command]:
    """Every runnable command (subcommands of groups included), sorted by name."""
    leaves: list[app_commands.Command] = []

    def walk(cmd: app_commands.Command | app_commands.Group) -> None:
        if isinstance(cmd, app_commands.Group):
            for sub in cmd.commands:
                walk(sub)
        else:
            leaves.append(cmd)

    for cmd in _slash_commands(tree):
        walk(cmd)
    return sorted(leaves, key=lambda c: c.qualified_name)


def command_paths(tree: app_commands.CommandTree) -> list[str]:
    """Every runnable command as typed, e.g. ``/hotfix declare``."""
    return [f"/{c.qualified_name}" for c in leaf_commands(tree)]


def did_you_mean(typed: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(typed, candidates, n=3, cutoff=0.6)
    return f" did you mean {' or '.join(close)}?" if close else ""


def usage(cmd: app_commands.Command) -> str:
    parts = []
    for p in cmd.parameters:
        text = p.display_name
        if p.choices:
            text += ":" + "|".join(str(c.value) for c in p.choices)
        parts.append(text if p.required else f"[{text}]")
    return f"/{cmd.qualified_name} {' '.join(parts)}".rstrip()


def describe(cmd: app_commands.Command) -> list[str]:
    """``/help COMMAND``: its usage, then each option with its type, limits and description."""
    lines = [usage(cmd), f"  {cmd.description}"]
    for p in cmd.parameters:
        kind = p.type.name + (", autocomplete" if p.autocomplete else "")
        limits = []
        if p.choices:
            limits.append("one of " + ", ".join(str(c.value) for c in p.choices))
        if p.min_value is not None or p.max_value is not None:
            unit = " characters" if p.type is Option.string else ""
            limits.append(f"{p.min_value if p.min_value is not None else ''}…{p.max_value or ''}{unit}")
        if p.type is Option.attachment:
            limits.append("give a local file's path")
        required = "required" if p.required else f"optional, default {p.default!r}"
        extra = f"; {'; '.join(limits)}" if limits else ""
        lines.append(f"  {p.display_name} ({kind}, {required}{extra}): {p.description}")
    return lines


def _choice(param: app_commands.Parameter, raw: str) -> Any:
    for choice in param.choices:
        if raw.lower() in (str(choice.value).lower(), choice.name.lower()):
            return choice.value
    options = ", ".join(str(c.value) for c in param.choices)
    raise InputError(f"{param.display_name} must be one of: {options} (got {raw!r})")


def _check_range(param: app_commands.Parameter, value: Any) -> None:
    name = param.display_name
    measured, unit = (len(value), " characters") if isinstance(value, str) else (value, "")
    if param.min_value is not None and measured < param.min_value:
        raise InputError(f"{name} must be at least {param.min_value}{unit}")
    if param.max_value is not None and measured > param.max_value:
        got = f" (got {measured})" if unit else ""
        raise InputError(f"{name} must be at most {param.max_value}{unit}{got}")


def convert(param: app_commands.Parameter, raw: str, person: Callable[[str], Any] | None = None) -> Any:
    """One typed value as the option Discord would send: ``person`` finds a member by name."""
    if param.choices:
        return _choice(param, raw)
    name, kind = param.display_name, param.type
    value: Any
    try:
        if kind is Option.integer:
            value = int(raw)
        elif kind is Option.number:
            value = float(raw)
        elif kind is Option.boolean:
            return BOOLEANS[raw.lower()]
        elif kind is Option.attachment:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise InputError(f"{name}: no file at {raw}; give the path of a local file")
            return (path.name, path.read_bytes())  # simcord uploads it as Discord would
        elif kind in (Option.user, Option.mentionable) and person is not None:
            return person(raw)
        elif kind is Option.string:
            value = raw
        else:
            raise InputError(f"{name}: this option type ({kind.name}) is not available in the console")
    except (ValueError, KeyError):
        raise InputError(f"{name} must be a {kind.name} (got {raw!r})") from None
    _check_range(param, value)
    return value


def subcommands(tree: app_commands.CommandTree, name: str) -> list[app_commands.Command] | None:
    """The runnable commands under ``/name`` when it is a group (for ``/help GROUP``), else None."""
    group = next((c for c in _slash_commands(tree) if c.name == name.lstrip("/").lower()), None)
    if not isinstance(group, app_commands.Group):
        return None
    return [c for c in leaf_commands(tree) if c.qualified_name.startswith(group.name + " ")]


def find_command(tree: app_commands.CommandTree, tokens: list[str]) -> tuple[app_commands.Command, list[str]]:
    """The command the first tokens name, and the tokens left for its options."""
    head = tokens[0]
    if not head.startswith("/") or len(head) == 1:
        raise InputError(f"commands start with /; available: {', '.join(command_paths(tree))}")
    cmd: app_commands.Command | app_commands.Group | None = None
    top = {c.name: c for c in _slash_commands(tree)}
    cmd = top.get(head[1:].lower())
    if cmd is None:
        hint = did_you_mean(head, [f"/{n}" for n in top] + ["/help", "/press", "/quit"])
        raise InputError(f"unknown command {head};{hint} available: {', '.join(command_paths(tree))}")
    rest = tokens[1:]
    while isinstance(cmd, app_commands.Group):
        subs = {c.name: c for c in cmd.commands}
        choices = ", ".join(f"/{cmd.qualified_name} {n}" for n in sorted(subs))
        if not rest:
            raise InputError(f"/{cmd.qualified_name} needs a subcommand: {choices}")
        if rest[0].lower() not in subs:
            hint = did_you_mean(rest[0].lower(), list(subs))
            raise InputError(f"unknown subcommand /{cmd.qualified_name} {rest[0]};{hint} choose one of: {choices}")
        cmd = subs[rest[0].lower()]
        rest = rest[1:]
    return cmd, rest


def asked_suggestions(tokens: list[str]) -> int | None:
    """The index of an ``option:typed?`` token (ask the bot's autocomplete), if the line has one."""
    found = [i for i, t in enumerate(tokens) if i > 0 and ":" in t and t.endswith("?")]
    return found[0] if found else None


def resolve(
    tree: app_commands.CommandTree,
    tokens: list[str],
    person: Callable[[str], Any] | None = None,
    *,
    partial: bool = False,
) -> tuple[app_commands.Command, dict[str, Any]]:
    """The command a typed line names and its converted options, keyed by option name.

    ``partial``: options may be missing (what is filled in so far, for autocomplete)."""
    cmd, rest = find_command(tree, tokens)
    params = {p.display_name: p for p in cmd.parameters}
    values: dict[str, Any] = {}
    positional: list[str] = []
    for token in rest:
        key, sep, raw = token.partition(":")
        if sep and key in params:
            if key in values:
                raise InputError(f"{key} is given twice")
            values[key] = convert(params[key], raw, person)
        else:
            positional.append(token)
    free = [p for p in cmd.parameters if p.display_name not in values]
    if len(positional) > len(free):
        raise InputError(f"too many values; usage: {usage(cmd)}")
    for param, raw in zip(free, positional, strict=False):
        values[param.display_name] = convert(param, raw, person)
    missing = [p for p in cmd.parameters if p.required and p.display_name not in values]
    if missing and not partial:
        p = missing[0]
        raise InputError(f"missing {p.display_name} ({p.description}); usage: {usage(cmd)}")
    return cmd, values
