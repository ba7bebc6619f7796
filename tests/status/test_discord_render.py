"""The Discord renderer never breaks a Discord limit, whatever the history."""

from __future__ import annotations

import random
import re

import discord
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dragonfly_bot.chat import limits as limits
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.core.compare import compare_reports
from dragonfly_bot.core.status import MigrationStatus, State, StatusReport
from dragonfly_bot.status.render_discord import render_compare, render_status

NASTY = ["`", "*", "_", "~", "|", "@everyone", "é", "💥", "\n", " "]
ALPHABET = list("abcdefghij_") + NASTY


def _history(seed: int, count: int, name_len: int, attention_share: float) -> StatusReport:
    rng = random.Random(seed)
    states = list(State)
    out = []
    for i in range(count):
        if rng.random() < attention_share:
            state = rng.choice([s for s in states if s not in (State.APPLIED, State.UNVERIFIABLE)])
        else:
            state = rng.choice([State.APPLIED, State.UNVERIFIABLE])
        version = f"{20200101000000 + i:014d}" if rng.random() < 0.9 else f"{i:04d}"
        name = "".join(rng.choices(ALPHABET, k=rng.randint(1, name_len)))
        message = "".join(rng.choices("xyz ", k=rng.randint(0, 3000))) if state is State.FAILED else None
        out.append(
            MigrationStatus(
                version=version,
                name=name,
                file=None if state is State.MISSING_LOCAL else f"{version}_{name}.sql",
                source="legacy" if len(version) == 4 else "supabase",
                state=state,
                note="why " * rng.randint(0, 400) if state is State.MODIFIED else None,
                error_sqlstate="42P07" if state is State.FAILED else None,
                error_message=message,
            )
        )
    return StatusReport(tuple(out), ignored_files=("notes.sql",) * rng.randint(0, 3), local_file_count=count)


def _versions_shown(rendered) -> set[str]:
    """Versions at the start of each listed file name (lines may be clipped, their start never)."""
    return {v for page in rendered.pages for v in re.findall(r"`(\d+)", page[0].description)}


def _assert_valid(rendered) -> None:
    assert rendered.pages
    for page in rendered.pages:
        assert message_problems(None, page) == [], message_problems(None, page)
        assert len(page) <= limits.EMBEDS_PER_MESSAGE


histories = st.builds(
    _history,
    seed=st.integers(0, 2**32),
    count=st.integers(0, 10_000),
    name_len=st.integers(1, 400),
    attention_share=st.floats(0, 1),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=histories, source=st.text(max_size=600))
@example(report=_history(1, 10_000, 400, 1.0), source="x" * 600)
@example(report=_history(2, 0, 1, 0.0), source="")
def test_every_status_page_is_within_discord_limits(report, source):
    rendered = render_status("dev", source, report)
    _assert_valid(rendered)
    # Every migration that needs attention is on some page, and paging attaches the report.
    shown = _versions_shown(rendered)
    assert {m.version for m in report.attention} <= shown
    if len(rendered.pages) > 1:
        assert rendered.files()[0].filename == "migrations-dev.txt"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dev=histories, prod=histories)
@example(dev=_history(3, 10_000, 400, 0.0), prod=_history(4, 0, 1, 0.0))
def test_every_compare_page_is_within_discord_limits(dev, prod):
    comparison = compare_reports(dev, prod)
    rendered = render_compare("dev-source", "prod-source", comparison)
    _assert_valid(rendered)
    assert {m.version for m in comparison.promotion} <= _versions_shown(rendered)


def test_pack_lines_keeps_lines_whole_and_within_the_limit():
    lines = [f"line {i} " + "x" * (i % 50) for i in range(500)] + ["y" * 5000]
    chunks = limits.pack_lines(lines, 1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert "\n".join(chunks).count("line ") == 500
    assert chunks[-1].endswith(limits.ELLIPSIS)


def test_fit_embed_clips_every_part():
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for _ in range(30):
        embed.add_field(name="n" * 300, value="v" * 2000)
    embed.set_footer(text="f" * 3000)
    embed.set_author(name="a" * 300)
    problems_before = message_problems("c" * 2001, [embed] * 11)
    assert any("content" in p for p in problems_before) and any("11 embeds" in p for p in problems_before)
    limits.fit_embed(embed)
    assert len(embed.title) == 256 and len(embed.fields) == 25 and len(embed.fields[0].value) == 1024
    # Each part now fits, but together they still exceed 6,000: the checker says so.
    assert message_problems(None, [embed]) == [f"embeds total {len(embed)} > 6000"]


def test_the_attached_full_report_is_redacted_like_the_embeds():
    # A failed run's error may quote a connection string; the embed line is redacted, and
    # so must be the full report attached to the same message.
    failed = MigrationStatus(
        "20250101000000",
        "fdw",
        "20250101000000_fdw.sql",
        "supabase",
        State.FAILED,
        error_sqlstate="08001",
        error_message="could not connect to server: postgresql://app:S3cretPw@db.example.com/app",
    )
    pending = [
        MigrationStatus(f"{20250102000000 + i}", "p", f"{20250102000000 + i}_p.sql", "supabase", State.PENDING)
        for i in range(200)
    ]
    report = StatusReport((failed, *pending), local_file_count=201)
    applied = tuple(MigrationStatus(m.version, m.name, m.file, m.source, State.APPLIED) for m in pending)
    for rendered in (
        render_status("dev", "https://x.supabase.co/rest/v1/v_migration_status", report),
        render_compare("dev", "prod", compare_reports(StatusReport(applied), StatusReport((failed,)))),
    ):
        (attached,) = rendered.files()
        text = attached.data.decode()
        assert "S3cretPw" not in text
        assert "postgresql://app:" in text or "Migration comparison" in text  # the status report quotes the error
        assert all("S3cretPw" not in (page[0].description or "") for page in rendered.pages)
