"""``lint --replay`` against the real PostgreSQL with the real Supabase CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg

from dragonfly_bot.adapters.localdb import SUPABASE_EXTENSIONS, ScratchDatabase, migration_up
from dragonfly_bot.cli import main
from dragonfly_bot.core.failures import classify, parse_log
from dragonfly_bot.preflight.files import collect
from dragonfly_bot.preflight.replay import replay

PRECISION = Path(__file__).parent / "lint_precision"
BASE = (
    "create table if not exists public.base (id int primary key);\n"
    "revoke all on public.base from anon, authenticated; grant select on public.base to service_role;\n"
)


def _scratch_names(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database where datname like 'dragonfly_scratch_%'")}


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _replay(folder: Path, server_url: str, changed: list[str] | None = None):
    paths = [str(folder / name) for name in changed] if changed else [str(folder)]
    findings = []
    for mset in collect(paths):
        findings.extend(replay(mset, db_url=server_url))
    return findings


def test_non_idempotent_migration_is_caught_with_the_relay_category(tmp_path, pg_server, monkeypatch):
    made: list[str] = []

    class Recording(ScratchDatabase):
        def create(self, **kwargs):
            made.append(self.name)
            return super().create(**kwargs)

    monkeypatch.setattr("dragonfly_bot.preflight.replay.ScratchDatabase", Recording)
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_step.sql": "-- the new table\ncreate table public.foo (id int);\n"
            "revoke all on public.foo from anon, authenticated; grant select on public.foo to service_role;\n",
        },
    )
    findings = _replay(folder, pg_server.url, ["20250102000000_step.sql"])
    assert len(made) == 1 and made[0] not in _scratch_names(pg_server.url)  # the scratch database was dropped
    assert [(f.rule, f.line) for f in findings] == [("replay-not-idempotent", 2)]
    finding = findings[0]
    # The same category the failure relay gives for the CLI's own output of this error.
    relay = parse_log(
        [
            "Applying migration 20250102000000_step.sql...",
            'ERROR: relation "foo" already exists (SQLSTATE 42P07)',
            "At statement: 0",
        ]
    )
    assert relay.category == "relation_exists" == classify("42P07", 'relation "foo" already exists')
    assert (
        finding.message == "running this migration a second time fails: "
        '[relation_exists] relation "foo" already exists (SQLSTATE 42P07)'
    )
    assert "create table if not exists public.foo (id int)" in finding.fix


def test_policy_rerun_reports_duplicate_object_as_relation_exists(tmp_path, pg_server):
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE + "\n\ncreate policy base_read on public.base for select using (true);\n",
        },
    )
    findings = _replay(folder, pg_server.url)
    assert [(f.rule, f.line) for f in findings] == [("replay-not-idempotent", 5)]
    assert "[relation_exists]" in findings[0].message and "(SQLSTATE 42710)" in findings[0].message


def test_idempotent_migrations_pass(tmp_path, pg_server):
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_seed.sql": "insert into public.base values (1), (2) on conflict do nothing;\n"
            "create or replace view public.v as select id from public.base;\n"
            "revoke all on public.v from anon, authenticated; grant select on public.v to service_role;\n",
        },
    )
    assert _replay(folder, pg_server.url) == []


def test_missing_grant_is_found_in_the_catalog(tmp_path, pg_server):
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_more.sql": "create schema if not exists app;\n"
            "create table if not exists app.secret (id int);\n"
            "grant select on app.secret to authenticated;\n"
            "create or replace function public.f() returns int language sql as $$ select 1 $$;\n"
            "revoke execute on function public.f() from public;\n"
            "grant execute on function public.f() to service_role, authenticated;\n"
            "-- lint-ignore: missing-grant only the nightly job reads it\n"
            "create table if not exists public.job_only (id int);\n",
        },
    )
    findings = _replay(folder, pg_server.url, ["20250102000000_more.sql"])
    assert [(f.rule, f.line, f.message) for f in findings] == [
        (
            "replay-missing-privilege",
            2,
            "after all migrations ran, service_role lacks SELECT on table app.secret (from the catalog)",
        )
    ]
    assert findings[0].fix == "GRANT SELECT ON app.secret TO service_role;"


def test_first_apply_failure_is_reported_classified(tmp_path, pg_server):
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_broken.sql": "select 1;\nalter table public.base add column if not exists x int;\n"
            "update public.base set missing_column = 1 where id = 0;\n",
        },
    )
    findings = _replay(folder, pg_server.url)
    assert [(f.rule, f.line) for f in findings] == [("replay-apply-failed", 3)]
    assert findings[0].file.endswith("20250102000000_broken.sql")
    assert "[column_missing]" in findings[0].message and "SQLSTATE 42703" in findings[0].message


def test_cli_replay_json_and_exit_code(tmp_path, pg_server, capsys, monkeypatch):
    _folder(tmp_path, {"20250101000000_base.sql": BASE + "create index base_id_idx on public.base (id);\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--replay", "--db-url", pg_server.url, "--json", "migrations"]) == 1
    rules = [(f["rule"], f["line"]) for f in json.loads(capsys.readouterr().out)]
    assert rules == [("create-without-if-not-exists", 3), ("replay-not-idempotent", 3)]


def _corpus_extensions() -> list[str]:
    found = re.findall(
        r"create extension if not exists (\w+)", " ".join(p.read_text() for p in PRECISION.glob("*.sql"))
    )
    return sorted(set(found))


def test_precision_corpus_replays_clean(pg_server, require_extensions):
    """The realistic migrations apply on PostgreSQL with the real CLI, survive a second run, and grant what they
    create."""
    require_extensions(*_corpus_extensions())  # pgcrypto: not in the embedded build
    assert _replay(PRECISION, pg_server.url) == []


def test_precision_corpus_is_idempotent_for_the_real_cli_too(pg_server, tmp_path, require_extensions):
    """Belt and braces: the CLI itself re-applies every file after `migration repair --status reverted`."""
    from dragonfly_bot.adapters.localdb import run_supabase

    require_extensions(*_corpus_extensions())
    db = ScratchDatabase(pg_server.url).create()
    try:
        assert migration_up(db.url, PRECISION).returncode == 0
        versions = sorted(p.name.split("_", 1)[0] for p in PRECISION.glob("*.sql"))
        repaired = run_supabase(
            ["migration", "repair", "--db-url", db.url, "--status", "reverted", *versions, "--yes"],
            migrations_dir=PRECISION,
        )
        assert repaired.returncode == 0, repaired.stderr
        again = migration_up(db.url, PRECISION, include_all=True)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        db.drop()


def test_unreachable_db_url_is_a_usage_error(tmp_path, capsys, monkeypatch):
    _folder(tmp_path, {"20250101000000_base.sql": BASE})
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--replay", "--db-url", "postgresql://postgres@127.0.0.1:1/postgres", "migrations"]) == 2
    assert "--replay could not create a scratch database" in capsys.readouterr().err


def test_apply_failure_in_an_older_file_is_named_like_the_other_findings(tmp_path, pg_server, capsys, monkeypatch):
    """Linting one new file: an older file that fails to apply is shown relative, as the new file is, and counted."""
    _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE + "alter table public.base add primary key (id);\n",
            "20250102000000_new.sql": "create table if not exists public.n (id int);\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    new = "migrations/20250102000000_new.sql"
    assert main(["lint", "--replay", "--db-url", pg_server.url, new]) == 1
    out = capsys.readouterr().out
    assert out.startswith("migrations/20250101000000_base.sql\n  line 3: error [replay-apply-failed]")
    assert str(tmp_path) not in out
    assert out.rstrip().endswith("2 errors, 0 warnings in 2 of 2 files.")
    assert main(["lint", "--replay", "--db-url", pg_server.url, "--github", new]) == 1
    annotations = capsys.readouterr().out
    assert "::error file=migrations/20250101000000_base.sql,line=3,title=replay-apply-failed::" in annotations


def test_second_run_is_run_like_the_cli_runs_it(tmp_path, pg_server):
    """CREATE INDEX CONCURRENTLY and VACUUM apply fine with the CLI (it opens no transaction), so their second run
    must not be reported; a file's own BEGIN/COMMIT is its own, and a non-idempotent statement in it is still caught."""
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_concurrently.sql": (
                "alter table public.base add column if not exists email text;\n"
                "create unique index concurrently if not exists base_email_idx on public.base (email);\n"
                "vacuum analyze public.base;\n"
                "revoke all on public.base from anon, authenticated; grant select on public.base to service_role;\n"
            ),
            "20250103000000_explicit_tx.sql": (
                "begin;\n"
                "create table if not exists public.tx_a (id int);\n"
                "create table public.tx_b (id int);\n"
                "revoke all on public.tx_a, public.tx_b from anon, authenticated;\n"
                "grant select on public.tx_a, public.tx_b to service_role;\n"
                "commit;\n"
            ),
        },
    )
    findings = _replay(folder, pg_server.url)
    assert [(Path(f.file).name, f.rule, f.line) for f in findings] == [
        ("20250103000000_explicit_tx.sql", "replay-not-idempotent", 3),
    ]
    assert "[relation_exists]" in findings[0].message


def test_extension_supabase_provides_but_the_scratch_server_lacks_is_a_warning_not_a_red_pre_flight(
    tmp_path, pg_server, capsys, monkeypatch
):
    """pgvector, pg_net, pg_cron... exist on every Supabase project but not on a plain PostgreSQL: the replay cannot
    run those migrations, which says nothing against them. A misspelt extension fails on Supabase too: an error."""
    with psycopg.connect(pg_server.url) as conn:
        available = {row[0] for row in conn.execute("select name from pg_available_extensions")}
    # pgvector on a stock PostgreSQL; the embedded build ships pgvector, but not pg_net or pg_cron.
    lacking = next(e for e in ("vector", "pg_net", "pg_cron", "pg_graphql") if e not in available)
    assert lacking in SUPABASE_EXTENSIONS
    folder = _folder(
        tmp_path,
        {
            "20250101000000_base.sql": BASE,
            "20250102000000_vector.sql": (
                f"create extension if not exists {lacking} with schema extensions;\n"
                "create table if not exists public.docs (id bigint primary key, embedding text);\n"
                "revoke all on public.docs from anon, authenticated; grant select on public.docs to service_role;\n"
            ),
        },
    )
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--replay", "--db-url", pg_server.url, "--json", "migrations"]) == 0
    [finding] = json.loads(capsys.readouterr().out)
    assert (finding["rule"], finding["severity"], finding["line"]) == ("replay-skipped", "warning", 1)
    assert f'extension "{lacking}"' in finding["message"] and "Supabase" in finding["message"]
    (folder / "20250102000000_vector.sql").write_text("create extension if not exists vectr with schema extensions;\n")
    assert main(["lint", "--replay", "--db-url", pg_server.url, "--json", "migrations"]) == 1
    [finding] = json.loads(capsys.readouterr().out)
    assert (finding["rule"], finding["severity"]) == ("replay-apply-failed", "error")


def test_supabase_storage_and_auth_shapes_migrations_rely_on_replay_clean(tmp_path, pg_server):
    """Bucket limits and MIME types, storage's path helpers and owner_id, auth.email() and the usual auth.users
    columns are there on every Supabase project: a migration using them replays without a finding."""
    folder = _folder(
        tmp_path,
        {
            "20250101000000_storage.sql": (
                "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)\n"
                "values ('avatars', 'avatars', true, 5242880, array['image/png', 'image/jpeg'])\n"
                "on conflict (id) do update set file_size_limit = excluded.file_size_limit;\n"
                'drop policy if exists "avatar owner" on storage.objects;\n'
                'create policy "avatar owner" on storage.objects for update to authenticated\n'
                "  using (bucket_id = 'avatars' and owner_id = (select auth.uid()::text)\n"
                "         and storage.extension(name) in ('png', 'jpg') and storage.filename(name) <> ''\n"
                "         and (storage.foldername(name))[1] = (select auth.email()));\n"
                "create or replace function public.on_signup() returns trigger language plpgsql security definer\n"
                "set search_path = '' as $$\n"
                "begin\n"
                "  if new.email_confirmed_at is null and new.phone is null and not new.is_anonymous then\n"
                "    return new;\n"
                "  end if;\n"
                "  return new;\n"
                "end $$;\n"
                "drop trigger if exists on_signup on auth.users;\n"
                "create trigger on_signup after update of email_confirmed_at, last_sign_in_at on auth.users\n"
                "  for each row execute function public.on_signup();\n"
                "insert into storage.objects (bucket_id, name, metadata) values ('avatars', 'a/b.png', '{}')\n"
                "on conflict do nothing;\n"
            ),
        },
    )
    assert _replay(folder, pg_server.url) == []


def test_auth_hook_granted_to_supabase_auth_admin_replays_clean(tmp_path, pg_server):
    """Supabase's documented auth-hook migration grants to supabase_auth_admin, a role every project has."""
    folder = _folder(
        tmp_path,
        {
            "20250101000000_hook.sql": (
                "create or replace function public.custom_access_token_hook(event jsonb) returns jsonb\n"
                "language plpgsql stable as $$ begin return event; end; $$;\n"
                "grant usage on schema public to supabase_auth_admin;\n"
                "grant execute on function public.custom_access_token_hook to supabase_auth_admin;\n"
                "revoke execute on function public.custom_access_token_hook from authenticated, anon, public;\n"
                "grant all on table storage.objects to supabase_storage_admin;\n"
            ),
        },
    )
    assert _replay(folder, pg_server.url) == []
