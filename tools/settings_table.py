"""Print the README's configuration table from dragonfly_bot/settings.py (every field).

python -m tools.settings_table            # print the table
python -m tools.settings_table --write    # replace it in README.md between the markers
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr

from dragonfly_bot.settings import Settings

START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def _default(info) -> str:
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is None:
        return "—"
    if isinstance(value, Path):
        value = value.as_posix()
    return f"`{value}`" if value != [] and value != {} else f"`{value!r}`".replace("'", "")


def _is_secret(info) -> bool:
    return "SecretStr" in repr(info.annotation) or info.annotation is SecretStr


def settings_table() -> str:
    lines = ["| variable | default | what it is for |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        purpose = (info.description or "").replace("|", "\\|")
        if _is_secret(info):
            purpose += " (secret: `fly secrets set`)"
        lines.append(f"| `{name.upper()}` | {_default(info)} | {purpose} |")
    return "\n".join(lines)


def write_readme(path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition(START)
    if not sep or END not in rest:
        raise SystemExit(f"{path} has no {START} ... {END} markers")
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{settings_table()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_readme()
    else:
        print(settings_table())
