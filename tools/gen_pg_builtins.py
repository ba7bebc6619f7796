"""Write dragonfly_bot/core/diagnosis/pg_builtins.py: the names of PostgreSQL's built-in functions.

The diagnosis engine (pure, no database) needs to tell "a built-in called with the wrong argument
types" from "a function nobody created". Run against the PostgreSQL major version Supabase uses:
``python -m tools.gen_pg_builtins postgresql://postgres@127.0.0.1:5432/postgres``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import psycopg

TARGET = Path(__file__).resolve().parent.parent / "dragonfly_bot" / "core" / "diagnosis" / "pg_builtins.py"


def main(url: str) -> None:
    with psycopg.connect(url) as conn:
        version = conn.execute("show server_version").fetchone()[0]
        names = [
            row[0]
            for row in conn.execute(
                "select distinct proname from pg_proc where pronamespace = 'pg_catalog'::regnamespace"
                " and proname !~ '^_' order by 1"
            )
        ]
    rows = textwrap.wrap(" ".join(names), width=100, break_long_words=False, break_on_hyphens=False)
    body = "".join(f'        "{row}",\n' for row in rows)
    TARGET.write_text(
        f'"""Names of PostgreSQL {version.split()[0]}\'s built-in functions, by tools/gen_pg_builtins.py."""\n\n'
        f'BUILTIN_FUNCTIONS = frozenset(\n    " ".join(\n        (\n{body}        )\n    ).split()\n)\n'
    )
    print(f"{len(names)} names written to {TARGET}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres")
