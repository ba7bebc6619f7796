"""Dev vs prod as plain text (the attachment of ``/migrations compare``, and the console)."""

from __future__ import annotations

from dragonfly_bot.core.compare import Comparison
from dragonfly_bot.status.render_text import display_name, state_label


def render_compare_text(dev_source: str, prod_source: str, comparison: Comparison) -> str:
    c = comparison
    lines = [
        "🔀 Migration comparison: DEV → PROD",
        f"📡 Dev:  {dev_source}",
        f"📡 Prod: {prod_source}",
        "",
        f"{c.in_both} applied in both; {len(c.promotion)} to promote; {len(c.prod_only)} only in prod.",
        *([f"Prod: {c.prod_next_run.summary()}"] if c.prod_next_run else []),
        "",
        f"Applied in dev, not yet in prod ({len(c.promotion)}): what a promotion would carry",
        "-" * 70,
    ]
    out_of_order = set(c.promotion_out_of_order)
    for m in c.promotion:
        note = "   (older than prod's newest: needs --include-all)" if m.version in out_of_order else ""
        lines.append(f"{m.version:<20} {display_name(m)}{note}")
    if not c.promotion:
        lines.append("(none)")
    lines += ["", f"In prod, not in dev ({len(c.prod_only)})", "-" * 70]
    lines += [f"{m.version:<20} {display_name(m)}" for m in c.prod_only] or ["(none)"]
    if c.failed_in_prod:
        lines += ["", f"Failed in prod ({len(c.failed_in_prod)})", "-" * 70]
        lines += [f"{m.version:<20} {display_name(m):<40} {state_label(m.state)}" for m in c.failed_in_prod]
    return "\n".join(lines)
