"""dragonfly_bot.project_config: dragonfly.toml, else [tool.dragonfly] in pyproject.toml; one clear line per bad key."""

from __future__ import annotations

import pytest

from dragonfly_bot.project_config import DEFAULT_MAX_FILE_BYTES, ConfigError, load


def write(folder, name, text):
    (folder / name).write_text(text)
    return folder


def test_no_config_gives_defaults(tmp_path):
    (tmp_path / ".git").mkdir()
    config = load(tmp_path)
    assert config.source is None and config.root == tmp_path.resolve()
    assert config.lint.max_file_bytes == DEFAULT_MAX_FILE_BYTES
    assert config.lint.rules.select is None and config.lint.exposed_schemas == {"public"}


def test_dragonfly_toml_wins_over_pyproject_and_is_found_from_a_subfolder(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.dragonfly.lint]\nignore = ["file-name"]\n')
    write(
        tmp_path,
        "dragonfly.toml",
        '[lint]\nignore = ["missing-grant"]\nprivate_schemas = ["private"]\n'
        'severity = { file-name = "off", destructive-operation = "warning" }\n'
        'max_file_bytes = 1000\n[lint.per_path."supabase/migrations/2023*"]\nignore = ["out-of-order"]\n'
        '[guard]\nignore = ["linked-flag"]\nexclude = ["docs/**"]\n[environments.dev]\nurl_env = "DEV_DB_URL"\n',
    )
    sub = tmp_path / "supabase" / "migrations"
    sub.mkdir(parents=True)
    config = load(sub)
    assert config.source == (tmp_path / "dragonfly.toml").resolve()
    assert config.lint.rules.ignore == {"missing-grant"}
    assert config.lint.rules.severity == {"file-name": "off", "destructive-operation": "warning"}
    assert config.lint.private_schemas == {"private"}
    assert config.lint.max_file_bytes == 1000
    (per_path,) = config.lint.per_path
    assert per_path.matches("supabase/migrations/20230101000000_a.sql")
    assert not per_path.matches("supabase/migrations/20240101000000_a.sql")
    assert len(config.lint.rules_for("supabase/migrations/20230101000000_a.sql")) == 2
    assert config.guard.ignore == {"linked-flag"} and config.guard.excluded("docs/a/b.sh")
    assert config.sections["environments"] == {"dev": {"url_env": "DEV_DB_URL"}}


def test_pyproject_tool_dragonfly(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.dragonfly.lint]\nselect = ["all"]\n')
    config = load(tmp_path)
    assert config.label == "pyproject.toml [tool.dragonfly]"
    assert "missing-grant" in config.lint.rules.select


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[lint]\nignore = ["no-such-rule"]\n', "[lint] ignore: unknown rule 'no-such-rule'"),
        ('[lint]\nignroe = ["file-name"]\n', "[lint] ignroe: unknown key"),
        (
            '[lint]\nseverity = { file-name = "loud" }\n',
            "[lint] severity.file-name: expected one of error, warning, off",
        ),
        ("[lint]\nmax_file_bytes = 0\n", "[lint] max_file_bytes: expected a positive number"),
        ('[lint]\nmax_file_bytes = "5MB"\n', "[lint] max_file_bytes: expected an int, got '5MB'"),
        ("[lint]\nmax_file_bytes = true\n", "[lint] max_file_bytes: expected an int"),
        ('[lint]\nselect = "all"\n', "[lint] select: expected a list"),
        ('[guard]\nignore = ["push"]\n', "[guard] ignore: unknown guard rule 'push'"),
        ("[lnit]\n", "unknown section [lnit]"),
        ("lint = 3\n", "`lint` must be a table"),
        ("[lint\n", "not valid TOML"),
        ('[lint.per_path."x"]\nignroe = []\n', '[lint.per_path."x"] ignroe: unknown key'),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, expected):
    write(tmp_path, "dragonfly.toml", text)
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = raised.value.message
    assert "\n" not in message and message.startswith("dragonfly.toml")
    assert expected in message


def test_lint_cli_applies_select_ignore_severity_and_per_path(tmp_path, monkeypatch, capsys):
    import json

    from dragonfly_bot.cli import main

    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20250101000000_a.sql").write_text("create table public.a (id int);\n")
    (folder / "20250102_b.sql").write_text("select 1;\n")
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "dragonfly.toml", '[lint]\nignore = ["missing-grant"]\nseverity = { file-name = "error" }\n')
    assert main(["lint", "--json"]) == 1
    found = sorted((f["rule"], f["severity"]) for f in json.loads(capsys.readouterr().out))
    assert ("file-name", "error") in found and not any(rule == "missing-grant" for rule, _ in found)
    write(
        tmp_path,
        "dragonfly.toml",
        '[lint]\nselect = ["file-name"]\n[lint.per_path."*_b.sql"]\nseverity = { file-name = "off" }\n',
    )
    assert main(["lint", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_lint_cli_bad_config_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    from dragonfly_bot.cli import main

    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    write(tmp_path, "dragonfly.toml", '[lint]\nignore = ["nope"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dragonfly.toml: [lint] ignore: unknown rule 'nope'") and "\n" not in err
