"""The layering rules of docs/ARCHITECTURE.md, checked on the source (imports read with ast)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The chat layer and the surfaces over it may use discord.py; nothing below them may.
DISCORD_ALLOWED = ("dragonfly_bot/chat/", "dragonfly_bot/console/", "dragonfly_bot/cogs/")
# Still discord-typed, converted to OutgoingMessage by the relay and hotfix work: take a
# module off this list when it no longer imports discord.
NOT_CONVERTED_YET = {"dragonfly_bot/hotfix/render_discord.py", "dragonfly_bot/relay/render_discord.py"}
# Pure parts of the chat layer that features may import.
PURE_CHAT = {
    "dragonfly_bot/chat/message.py",
    "dragonfly_bot/chat/markdown.py",
    "dragonfly_bot/chat/channels.py",
    "dragonfly_bot/chat/limits.py",
}


def _runtime_imports(path: Path) -> set[str]:
    """Top-level module names imported at run time (``if TYPE_CHECKING:`` blocks skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    found.update(alias.name for alias in sub.names)
                elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                    found.add(sub.module)

    visit(tree.body)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_discord_below_the_chat_layer():
    offenders = set()
    for path in _modules("dragonfly_bot"):
        rel = _rel(path)
        if rel.startswith(DISCORD_ALLOWED):
            continue
        if any(name == "discord" or name.startswith("discord.") for name in _runtime_imports(path)):
            offenders.add(rel)
    assert offenders <= NOT_CONVERTED_YET, sorted(offenders - NOT_CONVERTED_YET)


def test_the_pure_chat_modules_need_no_discord_at_run_time():
    for rel in sorted(PURE_CHAT):
        imports = _runtime_imports(ROOT / rel)
        assert not any(n == "discord" or n.startswith("discord.") for n in imports), rel
        assert all(
            not n.startswith("dragonfly_bot.") or n.startswith(("dragonfly_bot.chat.message", "dragonfly_bot.core"))
            for n in imports
        ), rel


def test_core_imports_only_the_standard_library_pglast_and_itself():
    allowed_third_party = {"pglast"}
    for path in _modules("dragonfly_bot/core"):
        for name in _runtime_imports(path):
            top = name.split(".")[0]
            if top == "dragonfly_bot":
                assert name.startswith("dragonfly_bot.core"), (_rel(path), name)
            else:
                assert top in sys.stdlib_module_names or top in allowed_third_party or top == "__future__", (
                    _rel(path),
                    name,
                )


def test_cogs_import_only_their_feature_the_chat_layer_and_shared_pieces():
    # A cog is thin: chat glue over its own feature folder. Shared pieces: core, errors, adapters' state
    # (ledger, journal) and the GitHub client type it is handed.
    feature_of = {"status": "status", "relay": "relay", "hotfix": "hotfix", "admin": None}
    for path in _modules("dragonfly_bot/cogs"):
        if path.name == "__init__.py":
            continue
        own = feature_of[path.stem]
        for name in _runtime_imports(path):
            if not name.startswith("dragonfly_bot."):
                continue
            area = name.split(".")[1]
            assert area in {"chat", "core", "errors", "adapters", own}, (_rel(path), name)
            if area == "adapters":
                assert name in {
                    "dragonfly_bot.adapters.github",
                    "dragonfly_bot.adapters.state.ledger",
                    "dragonfly_bot.adapters.state.journal",
                }, (
                    _rel(path),
                    name,
                )
