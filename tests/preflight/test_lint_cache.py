"""The lint's content-hash cache: a warm run parses nothing and says the same; what invalidates an entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.core.lint import LintOptions, MigrationSource, lint_migrations
from dragonfly_bot.core.lint import parse as parse_module
from dragonfly_bot.preflight.lint_cache import DiskCache

# In a schema of the team's (not public: no Supabase default privileges there), a table needs its grants.
TABLE = "create table if not exists app.{name} (id bigint primary key);\n"
GRANTED = TABLE + "grant select on app.{name} to authenticated, service_role;\n"


class DictCache:
    def __init__(self):
        self.entries: dict[str, dict] = {}
        self.puts: list[str] = []

    def get(self, name):
        entry = self.entries.get(name)
        return json.loads(json.dumps(entry)) if entry is not None else None  # as if read from disk

    def put(self, name, entry):
        self.entries[name] = json.loads(json.dumps(entry))
        self.puts.append(name)


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Texts parse_file was called on."""
    seen: list[str] = []
    real = parse_module.parse_file

    def counting(text):
        seen.append(text)
        return real(text)

    monkeypatch.setattr(parse_module, "parse_file", counting)
    return seen


def run(files: dict[str, str], cache, options: LintOptions | None = None, targets=None):
    names = sorted(files)
    chosen = targets or names
    sources = [MigrationSource(n, n, files[n], is_new=False) for n in chosen]
    others = [n for n in names if n not in chosen]
    return lint_migrations(sources, others, files.get, options or LintOptions(), cache)


HISTORY = {
    "20250101000000_schema.sql": "create schema if not exists app;\n",
    "20250102000000_people.sql": TABLE.format(name="people"),  # missing-grant
    "20250103000000_pets.sql": GRANTED.format(name="pets") + "create table app.toys (id int);\n"
    "grant select on app.toys to authenticated, service_role;\n",
    "20250104000000_view.sql": "create or replace view app.v as select 1 as x;\n"
    "grant select on app.v to authenticated, service_role;\n",
}


def test_a_warm_run_parses_nothing_and_gives_the_same_findings(parses):
    cache = DictCache()
    cold = run(HISTORY, cache)
    assert {(f.file, f.rule) for f in cold} >= {
        ("20250102000000_people.sql", "missing-grant"),
        ("20250103000000_pets.sql", "create-without-if-not-exists"),
    }
    assert len(parses) == len(HISTORY)  # each file parsed once, though later files read earlier ones
    parses.clear()
    warm = run(HISTORY, cache)
    assert warm == cold and [f.span for f in warm] == [f.span for f in cold]
    assert parses == []
    assert run(HISTORY, None) == cold  # and the same as without a cache


def test_editing_one_file_changes_only_its_entry(parses):
    cache = DictCache()
    run(HISTORY, cache)
    cache.puts.clear()
    parses.clear()
    edited = dict(HISTORY)
    edited["20250103000000_pets.sql"] = GRANTED.format(name="pets") + "-- the toys table moved\n"
    findings = run(edited, cache)
    assert cache.puts == ["20250103000000_pets.sql"] * len(cache.puts) and cache.puts
    assert len(parses) == 1
    assert not [f for f in findings if f.file == "20250103000000_pets.sql"]


def test_options_from_the_config_invalidate_results():
    cache = DictCache()
    files = {"20250101000000_jobs.sql": TABLE.replace("app.", "private.").format(name="jobs")}
    assert [f.rule for f in run(files, cache)] == ["missing-grant"]
    assert [f.rule for f in run(files, cache, LintOptions(private_schemas=frozenset({"private"})))] == ["missing-grant"]
    # private: the app roles are decided against, the service role still needs its grant
    finding = run(files, cache, LintOptions(private_schemas=frozenset({"private"})))[0]
    assert "service_role" in finding.message and "authenticated" not in finding.message
    assert "authenticated" in run(files, cache)[0].message  # back to the default: not the private result


def test_an_earlier_files_default_privileges_reach_an_unchanged_later_file(parses):
    cache = DictCache()
    files = {
        "20250101000000_schema.sql": "create schema if not exists app;\n",
        "20250102000000_jobs.sql": "create table if not exists app.jobs (id int);\n",
    }
    assert [f.rule for f in run(files, cache)] == ["missing-grant"]
    files["20250101000000_schema.sql"] += (
        "alter default privileges in schema app grant select on tables to authenticated, service_role;\n"
    )
    parses.clear()
    assert run(files, cache) == []
    assert len(parses) == 2  # the edited file, and the later one whose result depended on it


def test_a_later_file_that_stops_depending_on_an_earlier_view_is_rechecked():
    """``CREATE OR REPLACE VIEW`` without grants is fine when an earlier file created the view (its grants stay)."""
    cache = DictCache()
    files = {
        "20250101000000_view.sql": "create or replace view app.v as select 1 as x;\n"
        "grant select on app.v to authenticated, service_role;\n",
        "20250102000000_view_again.sql": "create or replace view app.v as select 2 as x;\n",
    }
    later = ["20250102000000_view_again.sql"]
    assert run(files, cache, targets=later) == []
    files["20250101000000_view.sql"] = "select 1;\n"  # the earlier file no longer creates it
    assert [f.rule for f in run(files, cache, targets=later)] == ["missing-grant"]


def test_a_policy_in_a_later_file_is_an_answer_that_is_checked():
    cache = DictCache()
    first = "20250101000000_t.sql"
    files = {
        first: "create table if not exists public.t (id int);\nalter table public.t enable row level security;\n",
        "20250102000000_policy.sql": 'create policy "p" on public.t for select to authenticated using (true);\n',
    }
    assert run(files, cache, targets=[first]) == []
    files["20250102000000_policy.sql"] = "select 1;\n"
    assert [f.rule for f in run(files, cache, targets=[first])] == ["rls-without-policy"]


def test_whole_file_rules_are_not_taken_from_the_cache():
    cache = DictCache()
    files = {"20250105000000_new.sql": GRANTED.format(name="n")}
    source = MigrationSource("20250105000000_new.sql", "20250105000000_new.sql", files["20250105000000_new.sql"])
    assert lint_migrations([source], [], files.get, LintOptions(), cache) == []
    later = ["20250106000000_applied.sql"]  # an applied file with a later version: the new one is out of order
    assert [f.rule for f in lint_migrations([source], later, files.get, LintOptions(), cache)] == ["out-of-order"]


def test_a_new_code_fingerprint_starts_afresh_and_removes_the_old(tmp_path):
    (tmp_path / "x.sql").write_text("select 1;\n")
    (tmp_path / "y.sql").write_text("select 2;\n")
    old = DiskCache(tmp_path / "cache", tmp_path, fingerprint="aaaa")
    old.put("x.sql", {"sha": "1"})
    old.put("gone.sql", {"sha": "3"})  # no such file any more: not kept
    old.flush()
    assert json.loads(old.file.read_text()) == {"x.sql": {"sha": "1"}}
    assert (tmp_path / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    new = DiskCache(tmp_path / "cache", tmp_path, fingerprint="bbbb")
    assert new.get("x.sql") is None
    new.put("y.sql", {"sha": "2"})
    new.flush()
    assert not old.version_dir.exists()
    assert DiskCache(tmp_path / "cache", tmp_path, fingerprint="bbbb").get("y.sql") == {"sha": "2"}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, text in HISTORY.items():
        (migrations / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def entries(project: Path) -> dict[str, str]:
    (pack,) = (project / ".dragonfly-cache").glob("lint-*/*.json")
    return {name: json.dumps(entry, sort_keys=True) for name, entry in json.loads(pack.read_text()).items()}


def test_cli_cache_on_disk_warm_run_and_no_cache(project, capsys, parses):
    assert main(["lint", "--json"]) == 1
    cold = capsys.readouterr().out
    written = entries(project)
    assert sorted(written) == sorted(HISTORY)
    parses.clear()
    assert main(["lint", "--json"]) == 1
    assert capsys.readouterr().out == cold and parses == []
    assert main(["lint", "--json", "--no-cache"]) == 1
    assert capsys.readouterr().out == cold and len(parses) == len(HISTORY)
    # editing one file rewrites that file's entry only
    pets = project / "supabase" / "migrations" / "20250103000000_pets.sql"
    pets.write_text(pets.read_text() + "-- reviewed\n")
    assert main(["lint", "--json"]) == 1
    capsys.readouterr()
    after = entries(project)
    assert [name for name in HISTORY if after[name] != written[name]] == ["20250103000000_pets.sql"]
    # a corrupt cache is a miss, not an error
    next((project / ".dragonfly-cache").glob("lint-*/*.json")).write_text("{not json")
    assert main(["lint", "--json"]) == 1
    assert capsys.readouterr().out == cold


def test_cli_config_cache_dir_off(project, capsys):
    (project / "dragonfly.toml").write_text('[lint]\ncache_dir = ""\n')
    assert main(["lint"]) == 1
    capsys.readouterr()
    assert not (project / ".dragonfly-cache").exists()


def test_another_file_recorded_with_the_same_size_and_mtime_is_not_read_again(parses):
    cache = DictCache()
    identity = {name: [len(text), 1] for name, text in HISTORY.items()}
    names = sorted(HISTORY)
    everything = [MigrationSource(n, n, HISTORY[n], is_new=False) for n in names]
    cold = lint_migrations(everything, [], HISTORY.get, LintOptions(), cache, identity.get)
    read: list[str] = []

    def read_other(name):
        read.append(name)
        return HISTORY[name]

    target = "20250103000000_pets.sql"
    source = [MigrationSource(target, target, HISTORY[target], is_new=False)]
    others = [n for n in names if n != target]
    parses.clear()
    warm = lint_migrations(source, others, read_other, LintOptions(), cache, identity.get)
    assert warm == [f for f in cold if f.file == target] and read == [] and parses == []
    identity["20250102000000_people.sql"] = [len(HISTORY["20250102000000_people.sql"]), 2]  # touched: read it
    assert lint_migrations(source, others, read_other, LintOptions(), cache, identity.get) == warm
    assert read == ["20250102000000_people.sql"] and parses == []  # same text: its summary still holds


def test_the_cyclic_collector_is_paused_while_a_folder_is_linted_and_on_again_after():
    import gc

    seen: list[bool] = []

    def read_other(name: str) -> str:
        seen.append(gc.isenabled())  # the rules read the other files while the folder is linted
        return TABLE.format(name="other")

    assert gc.isenabled()
    target = MigrationSource("20250102000000_b.sql", "b.sql", GRANTED.format(name="b"))
    lint_migrations([target], ["20250101000000_a.sql"], read_other)
    assert seen == [False] and gc.isenabled()
