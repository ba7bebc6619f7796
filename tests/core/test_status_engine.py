"""The pure status engine: one state per migration, as the CLI would see it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.sql import split_statements, statements_digest
from dragonfly_bot.core.status import (
    AppliedRow,
    LocalMigration,
    State,
    compute_status,
    versions_to_verify,
)
from dragonfly_bot.core.versions import parse_file_name


def local(file: str, sql: str = "select 1;") -> LocalMigration:
    return LocalMigration.from_text(parse_file_name(file), sql)


def applied(version: str, sql: str | None = "select 1;", name: str = "x") -> AppliedRow:
    if sql is None:
        return AppliedRow("supabase", version, name, statement_count=None, statements_digest=None)
    stmts = [s.text for s in split_statements(sql)]
    return AppliedRow("supabase", version, name, statement_count=len(stmts), statements_digest=statements_digest(stmts))


def states(report) -> dict[str, State]:
    return {m.version: m.state for m in report.migrations}


def test_each_state():
    files = [
        local("20250101000000_a.sql"),
        local("20250102000000_b.sql", "create table b (id int);"),
        local("20250103000000_c.sql"),
        local("20250104000000_d.sql"),
        local("20250105000000_e.sql"),
        local("20250107000000_g.sql"),
    ]
    rows = [
        applied("20250101000000"),
        applied("20250102000000", "create table b (id bigint);"),
        applied("20250103000000", None),
        AppliedRow(
            "supabase",
            "20250104000000",
            "d",
            status="failed",
            error_sqlstate="42P07",
            error_message='relation "d" already exists',
        ),
        applied("20250106000000"),  # no local file
    ]
    suspects = versions_to_verify(files, rows)
    assert suspects == ["20250102000000"]
    report = compute_status(files, rows, {"20250102000000": ["create table b (id bigint)"]})
    assert states(report) == {
        "20250101000000": State.APPLIED,
        "20250102000000": State.MODIFIED,
        "20250103000000": State.UNVERIFIABLE,
        "20250104000000": State.FAILED,
        "20250105000000": State.OUT_OF_ORDER,  # older than applied 20250106000000
        "20250106000000": State.MISSING_LOCAL,
        "20250107000000": State.BLOCKED,  # the missing_local and out_of_order files stop the next run
    }
    assert report.exit_code == 1
    # applied in the database: applied, modified, unverifiable, missing locally
    assert report.summary_line() == "Legacy: 0 applied. Supabase: 4 applied, 2 pending, 1 failed."
    assert (
        report.drift_line() == "Drift: 1 modified after being applied, 1 applied but missing locally, 1 out of order."
    )
    failed = next(m for m in report.migrations if m.state is State.FAILED)
    assert failed.error_sqlstate == "42P07"
    # attention first, most urgent first
    assert [m.state for m in report.migrations][:2] == [State.FAILED, State.MODIFIED]


def test_whitespace_and_crlf_edits_are_not_modifications():
    original = "create table a (\n  id int\n);\ninsert into a values (1);\n"
    edited = "-- explain why\r\nCREATE TABLE a (id INT);\r\n\r\nINSERT INTO a VALUES (1);\r\n"
    files = [local("20250101000000_a.sql", edited)]
    rows = [applied("20250101000000", original)]
    assert versions_to_verify(files, rows) == ["20250101000000"]
    applied_stmts = {"20250101000000": [s.text for s in split_statements(original)]}
    report = compute_status(files, rows, applied_stmts)
    assert states(report) == {"20250101000000": State.APPLIED}
    assert report.exit_code == 0


def test_legacy_rows_match_four_digit_files_and_do_not_make_others_out_of_order():
    files = [local("0001_init.sql"), local("0002_more.sql"), local("20250101000000_new.sql")]
    rows = [AppliedRow("legacy", "0001", "init"), AppliedRow("legacy", "0002", "more")]
    report = compute_status(files, rows)
    # Only the legacy tracker knows them: the CLI sees two unapplied files and would run them again.
    assert states(report) == {"0001": State.LEGACY_ONLY, "0002": State.LEGACY_ONLY, "20250101000000": State.PENDING}
    assert {m.source for m in report.migrations if m.version.startswith("000")} == {"legacy"}
    assert report.summary_line() == "Legacy: 2 applied. Supabase: 0 applied, 1 pending, 0 failed."
    assert "would run it again" in report.migrations[0].note and "migration repair" in report.migrations[0].note
    assert report.next_run.apply == ("0001_init.sql", "0002_more.sql", "20250101000000_new.sql")
    # Once schema_migrations has newer versions, the same files make plain `migration up` refuse.
    report = compute_status(files, [*rows, applied("20250101000000")])
    assert states(report)["0001"] is State.LEGACY_ONLY and report.next_run.outcome == "refuse"
    assert "refuses the whole run" in report.migrations[0].note and report.exit_code == 1
    # Recorded in schema_migrations too (`supabase migration repair --status applied`): applied.
    repaired = [applied("0001", None), applied("0002", None), applied("20250101000000")]
    report = compute_status(files, [*rows, *repaired])
    assert states(report)["0001"] is State.UNVERIFIABLE and report.exit_code == 0


def test_versions_compare_as_strings_like_the_cli():
    # An applied 8-digit version sorts after a 14-digit one from the same year.
    files = [local("20261105_x.sql"), local("20260118000000_y.sql")]
    rows = [applied("20261105")]
    report = compute_status(files, rows)
    assert states(report)["20260118000000"] is State.OUT_OF_ORDER
    files = [local("20260118000000_y.sql"), local("20261105_x.sql")]
    report = compute_status(files, [applied("20260118000000")])
    assert states(report)["20261105"] is State.PENDING


def test_applied_wins_over_an_earlier_failure_and_bad_names_are_ignored():
    files = [local("20250101000000_a.sql")]
    rows = [
        applied("20250101000000"),
        AppliedRow("supabase", "20250101000000", "a", status="failed", error_sqlstate="42601"),
    ]
    report = compute_status(files, rows, ignored_files=["notes.sql"])
    assert states(report) == {"20250101000000": State.APPLIED}
    assert report.ignored_files == ("notes.sql",)
    assert report.local_file_count == 2


def test_empty_everything_is_healthy():
    report = compute_status([], [])
    assert report.healthy and report.migrations == ()


versions = st.integers(min_value=1, max_value=60).map(lambda n: f"202501{n // 30 + 1:02d}{n % 24:02d}0000")


@settings(max_examples=200, deadline=None)
@given(
    st.sets(versions, max_size=20),
    st.sets(versions, max_size=20),
    st.sets(versions, max_size=5),
    st.sets(versions, max_size=5),
)
def test_every_migration_gets_exactly_one_state(local_versions, applied_versions, failed_versions, edited):
    files = [local(f"{v}_m.sql", "select 2;" if v in edited else "select 1;") for v in sorted(local_versions)]
    rows = [applied(v) for v in applied_versions]
    rows += [AppliedRow("supabase", v, "m", status="failed") for v in failed_versions]
    report = compute_status(files, rows, {v: ["select 1"] for v in versions_to_verify(files, rows)})
    got = [m.version for m in report.migrations]
    assert len(got) == len(set(got))
    assert set(got) == local_versions | applied_versions
    newest = max(applied_versions) if applied_versions else None
    # Plain `migration up` refuses the run when a version has no file or an unapplied file is older.
    blocked = bool(applied_versions - local_versions) or any(
        newest and v < newest for v in local_versions - applied_versions
    )
    for m in report.migrations:
        if m.version in applied_versions:
            expected = (
                State.MISSING_LOCAL
                if m.version not in local_versions
                else State.MODIFIED
                if m.version in edited
                else State.APPLIED
            )
        elif m.version in failed_versions:
            expected = State.FAILED
        elif newest and m.version < newest:
            expected = State.OUT_OF_ORDER
        elif blocked:
            expected = State.BLOCKED
        else:
            expected = State.PENDING
        assert m.state is expected, m
    assert report.exit_code == (0 if all(m.state is State.APPLIED for m in report.migrations) else 1)


def test_two_files_with_one_version_check_the_applied_one_and_flag_the_other():
    # The CLI records one file per version: the one applied is named in schema_migrations;
    # the other is never applied (out of order, or a duplicate-key failure), whatever it holds.
    files = [
        local("20250101000000_a.sql", "create table a (id int);"),
        local("20250101000000_a_copy.sql", "create table a_copy (id int);"),
        local("20250102000000_b.sql"),
    ]
    rows = [applied("20250101000000", "create table a (id int);", name="a"), applied("20250102000000")]
    report = compute_status(files, rows)
    got = {m.file: m.state for m in report.migrations}
    assert got == {
        "20250101000000_a.sql": State.APPLIED,
        "20250101000000_a_copy.sql": State.OUT_OF_ORDER,
        "20250102000000_b.sql": State.APPLIED,
    }
    copy = next(m for m in report.migrations if m.file == "20250101000000_a_copy.sql")
    assert "20250101000000_a.sql" in copy.note and "new timestamp" in copy.note
    # Not applied yet: the second file of the version still needs attention.
    report = compute_status([local("20250103000000_c.sql"), local("20250103000000_d.sql")], [])
    assert [m.state for m in report.migrations] == [State.PENDING, State.PENDING]
