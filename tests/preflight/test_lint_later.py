"""A later file of the folder settles a state-based security finding in an earlier one (dragonfly_bot.core.lint.later):
RLS or a policy in the next file, ``security_invoker``, ``ALTER FUNCTION ... SET search_path``, a REVOKE from
the app roles, a redefinition or a DROP; the newest word counts; a warm run (the content-hash cache) sees a
fixing file come and go; the advisor says what the lint says."""

from __future__ import annotations

import json

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.core.lint import LintOptions, MigrationSource, lint_migrations
from dragonfly_bot.core.lint.advisor import advise
from dragonfly_bot.core.lint.model import SECURITY_RULES

FIRST = "20250101000000_first.sql"
SECOND = "20250102000000_second.sql"
THIRD = "20250103000000_third.sql"

# Each made in public (Supabase's default privileges reach anon and authenticated) and granted as the protocol asks.
TABLE = "create table if not exists public.notes (id int primary key);\n"
VIEW = (
    "create table if not exists private.secrets (id int);\n"
    "create or replace view public.v_secrets as select id from private.secrets;\n"
    "grant select on public.v_secrets to authenticated, service_role;\n"
)
AUTH_VIEW = "create or replace view public.v_users as select id, email from auth.users;\n"
FUNCTION = "create or replace function public.f() returns int language sql security definer as $$ select 1 $$;\n"
PINNED_FUNCTION = (
    "create or replace function public.f() returns int language sql security definer set search_path = '' "
    "as $$ select 1 $$;\n"
)
SELECT_TO_ANON = TABLE + "grant select on public.notes to anon;\n"


def security(files: dict[str, str], targets: list[str] | None = None, cache=None) -> list[tuple[str, str]]:
    names = sorted(files)
    chosen = targets or names
    sources = [MigrationSource(n, n, files[n], is_new=False) for n in chosen]
    others = [n for n in names if n not in chosen]
    options = LintOptions(off=frozenset())
    found = lint_migrations(sources, others, files.get, options, cache)
    return sorted((f.file, f.rule) for f in found if f.rule in SECURITY_RULES)


LOOPED_REVOKE = (
    "do $$\ndeclare\n  fns text[] := array['public.other(int)', '{fn}'];\n  fn text;\n  oid regprocedure;\nbegin\n"
    "  foreach fn in array fns loop\n    oid := to_regprocedure(fn);\n    if oid is null then continue; end if;\n"
    "    execute format('revoke all on function %s from public', oid);\n"
    "    execute format('revoke all on function %s from ' || 'anon, authenticated', oid);\n"
    "  end loop;\nend $$;\n"
)

SETTLED = [
    # (rule, what the first file leaves, what a later file does about it)
    ("security-definer-view", VIEW, "alter view public.v_secrets set (security_invoker = true);\n"),
    ("security-definer-view", VIEW, "revoke all on public.v_secrets from anon, authenticated;\n"),
    (
        "security-definer-view",
        VIEW,
        "create or replace view public.v_secrets with (security_invoker = true) as select id from private.secrets;\n",
    ),
    ("security-definer-view", VIEW, "drop view if exists public.v_secrets;\n"),
    ("auth-users-exposed", AUTH_VIEW, "alter view public.v_users set (security_invoker = on);\n"),
    ("auth-users-exposed", AUTH_VIEW, "revoke select on public.v_users from public, anon, authenticated;\n"),
    (
        "rls-disabled",
        TABLE,
        "alter table public.notes enable row level security;\n"
        "drop policy if exists n on public.notes;\n"
        "create policy n on public.notes for select to authenticated using (true);\n",
    ),
    ("rls-disabled", TABLE, "revoke all on public.notes from anon, authenticated;\n"),
    ("rls-disabled", TABLE, "drop table if exists public.notes;\n"),
    ("definer-search-path", FUNCTION, "alter function public.f() set search_path = '';\n"),
    ("definer-search-path", FUNCTION, PINNED_FUNCTION),
    ("definer-executable", FUNCTION, "revoke execute on function public.f() from public, anon, authenticated;\n"),
    (
        "definer-executable",
        FUNCTION,
        "revoke all on all functions in schema public from public, anon, authenticated;\n",
    ),
    ("anon-table-grant", SELECT_TO_ANON, "alter table public.notes enable row level security;\n"),
    ("anon-table-grant", SELECT_TO_ANON, "revoke select on public.notes from anon;\n"),
    # the REVOKE a DO block builds from a constant list (seen on a real project: 36 functions so)
    ("definer-executable", FUNCTION, LOOPED_REVOKE.format(fn="public.f()")),
]


@pytest.mark.parametrize(("rule", "first", "fix"), SETTLED)
def test_a_later_file_settles_the_finding_of_an_earlier_one(rule, first, fix):
    assert (FIRST, rule) in security({FIRST: first})
    assert (FIRST, rule) not in security({FIRST: first, SECOND: fix})
    # linted alone (the earlier file as the target, the later one only read), the answer is the same
    assert (FIRST, rule) not in security({FIRST: first, SECOND: fix}, targets=[FIRST])


NOT_SETTLED = [
    # the same loop over other functions
    ("definer-executable", FUNCTION, LOOPED_REVOKE.format(fn="public.g()")),
    # EXECUTE is PUBLIC's too: revoked from the app roles by name, they still have it
    ("definer-executable", FUNCTION, "revoke execute on function public.f() from anon, authenticated;\n"),
    # another view, another function, another schema's table
    ("security-definer-view", VIEW, "alter view public.v_other set (security_invoker = true);\n"),
    ("definer-search-path", FUNCTION, "alter function public.g() set search_path = '';\n"),
    ("rls-disabled", TABLE, "alter table app.notes enable row level security;\n"),
    # the later file speaks first, an even later one takes it back: the newest word counts
    (
        "security-definer-view",
        VIEW,
        "alter view public.v_secrets set (security_invoker = true);\n"
        "alter view public.v_secrets set (security_invoker = false);\n",
    ),
    (
        "rls-disabled",
        TABLE,
        "revoke all on public.notes from anon, authenticated;\ngrant select on public.notes to authenticated;\n",
    ),
]


@pytest.mark.parametrize(("rule", "first", "later"), NOT_SETTLED)
def test_what_does_not_settle_it_leaves_the_finding(rule, first, later):
    assert (FIRST, rule) in security({FIRST: first, SECOND: later})


def test_the_newest_word_counts_across_files():
    revoke = "revoke all on public.v_secrets from anon, authenticated;\n"
    grant_again = "grant select on public.v_secrets to authenticated;\n"
    assert (FIRST, "security-definer-view") not in security({FIRST: VIEW, SECOND: revoke})
    assert (FIRST, "security-definer-view") in security({FIRST: VIEW, SECOND: revoke, THIRD: grant_again})
    on, off = (f"alter view public.v_secrets set (security_invoker = {v});\n" for v in ("on", "off"))
    assert (FIRST, "security-definer-view") in security({FIRST: VIEW, SECOND: on, THIRD: off})
    assert (FIRST, "security-definer-view") not in security({FIRST: VIEW, SECOND: off, THIRD: on})


def test_a_later_grant_that_reaches_app_users_again_is_seen_in_the_earlier_file():
    """The history as one (what the advisor reads): a view kept from app users, granted to them later."""
    kept = VIEW.replace(
        "grant select on public.v_secrets to authenticated, service_role;\n",
        "revoke all on public.v_secrets from anon, authenticated;\ngrant select on public.v_secrets to service_role;\n",
    )
    assert security({FIRST: kept}) == []
    granted = {FIRST: kept, SECOND: "grant select on public.v_secrets to authenticated;\n"}
    assert security(granted) == [(FIRST, "security-definer-view")]
    table = TABLE + "revoke all on public.notes from anon, authenticated;\n"
    assert security({FIRST: table}) == []
    assert security({FIRST: table, SECOND: "grant select on public.notes to authenticated;\n"}) == [
        (FIRST, "rls-disabled")
    ]


def test_rls_enabled_later_without_a_policy_is_the_policy_finding():
    files = {FIRST: TABLE, SECOND: "alter table public.notes enable row level security;\n"}
    assert security(files) == [(FIRST, "rls-without-policy")]
    files[THIRD] = "create policy n on public.notes for select to authenticated using (true);\n"
    assert security(files) == []


def test_a_view_over_a_table_that_gets_rls_later_reads_past_it():
    """The view runs with its owner's rights: once the table has RLS, it shows what RLS keeps from the caller."""
    first = TABLE + "create or replace view public.v_notes as select id from public.notes;\n"
    rls = (
        "alter table public.notes enable row level security;\n"
        "create policy n on public.notes for select to authenticated using (false);\n"
    )
    assert security({FIRST: first}) == [(FIRST, "rls-disabled")]
    assert security({FIRST: first, SECOND: rls}) == [(FIRST, "security-definer-view")]


class DictCache:
    def __init__(self):
        self.entries: dict[str, dict] = {}

    def get(self, name):
        entry = self.entries.get(name)
        return json.loads(json.dumps(entry)) if entry is not None else None

    def put(self, name, entry):
        self.entries[name] = json.loads(json.dumps(entry))


@pytest.mark.parametrize(("rule", "first", "fix"), SETTLED[:1] + SETTLED[7:8] + SETTLED[9:10] + SETTLED[11:12])
def test_a_warm_run_sees_a_fixing_file_come_and_go(rule, first, fix):
    cache = DictCache()
    assert (FIRST, rule) in security({FIRST: first}, cache=cache)
    assert (FIRST, rule) not in security({FIRST: first, SECOND: fix}, cache=cache)  # added: gone
    assert (FIRST, rule) not in security({FIRST: first, SECOND: fix}, targets=[FIRST], cache=cache)
    assert (FIRST, rule) in security({FIRST: first}, cache=cache)  # removed: back
    assert (FIRST, rule) in security({FIRST: first, SECOND: "select 1;\n"}, cache=cache)  # edited away: back


def test_cli_warm_run_on_disk_follows_a_later_fix(tmp_path, monkeypatch, capsys):
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / FIRST).write_text(VIEW)
    monkeypatch.chdir(tmp_path)

    def rules() -> list[str]:
        main(["lint", "--json"])
        return sorted(f["rule"] for f in json.loads(capsys.readouterr().out))

    assert "security-definer-view" in rules()
    fix = migrations / SECOND
    fix.write_text("alter view public.v_secrets set (security_invoker = true);\n")
    assert "security-definer-view" not in rules()
    assert "security-definer-view" not in rules()  # warm: every file answered from the cache
    fix.unlink()
    assert "security-definer-view" in rules()


def test_the_advisor_is_the_lint_with_every_security_rule_on():
    files = {
        FIRST: TABLE + VIEW + FUNCTION + AUTH_VIEW,
        SECOND: "alter view public.v_secrets set (security_invoker = true);\n"
        "create or replace function public.g() returns int language sql as $$ select 2 $$;\n",
        THIRD: "revoke all on public.notes from anon, authenticated;\n",
    }
    advised = sorted((f.file, f.rule) for f in advise(sorted(files.items())))
    assert advised == security(files)
    assert advised == [
        (FIRST, "auth-users-exposed"),
        (FIRST, "definer-executable"),
        (FIRST, "definer-search-path"),
        (SECOND, "function-search-path"),
    ]


def test_the_files_after_each_target_are_asked_even_when_an_earlier_name_asks_last():
    from dragonfly_bot.core.lint.history import History

    fourth = "20250104000000_fourth.sql"
    rls = "alter table public.notes enable row level security;\n"
    texts = {FIRST: TABLE, SECOND: rls, THIRD: "select 1;\n", fourth: "select 2;\n"}
    question = ("rls", "public", "notes")
    history = History([MigrationSource(THIRD, THIRD, texts[THIRD])], [FIRST, SECOND, fourth], texts.get)
    assert history.later(THIRD, question) is None  # the index is built from after the target: the fourth file
    assert history.later(FIRST, question) is True  # and built again from earlier on: the second file enables it
    assert history.later(fourth, question) is None  # the newest file: nothing after it


def test_a_table_an_earlier_file_of_the_same_change_creates_is_not_an_existing_table_for_the_lock_rules():
    tables = "create table if not exists public.jobs (id bigint primary key, state text);\n"
    indexes = "create index if not exists jobs_state_idx on public.jobs (state);\n"

    def lock_findings(first_is_new: bool) -> list[str]:
        sources = [
            MigrationSource(FIRST, FIRST, tables, is_new=first_is_new),
            MigrationSource(SECOND, SECOND, indexes, is_new=True),
        ]
        return [f.rule for f in lint_migrations(sources) if f.file == SECOND]

    assert lock_findings(first_is_new=True) == []  # both files are in this change: the table is empty
    assert "index-not-concurrent" in lock_findings(first_is_new=False)  # applied already: it may be busy
