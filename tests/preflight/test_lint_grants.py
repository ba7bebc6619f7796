"""Grants as PostgreSQL and Supabase really give them, and fixes that never widen access (issue 11, item 3)."""

from __future__ import annotations

from dragonfly_bot.core.lint import LintOptions, MigrationSource, lint_migrations

DEFINER = (
    "create or replace function {schema}.rotate_keys() returns void\n"
    "language sql security definer set search_path = ''\nas $$ select 1 $$;\n"
)


def lint(text: str, prior: str | None = None, private: frozenset[str] = frozenset()):
    others = ["20200101000000_prior.sql"] if prior else []
    source = MigrationSource("20250101000000_x.sql", "x.sql", text)
    return lint_migrations([source], others, {"20200101000000_prior.sql": prior}.get, LintOptions(private))


def by_rule(findings):
    return {f.rule: f for f in findings}


def test_definer_revoked_from_public_only_gets_a_grant_to_service_role_and_nothing_wider():
    found = by_rule(lint(DEFINER.format(schema="app") + "revoke execute on function app.rotate_keys() from public;\n"))
    assert set(found) == {"missing-grant"}
    fix = found["missing-grant"].fix
    assert fix.startswith("GRANT EXECUTE ON FUNCTION app.rotate_keys() TO service_role;")
    assert "authenticated" not in fix.split(";")[0]


def test_definer_in_public_the_fix_revokes_from_public_and_the_app_roles():
    found = by_rule(
        lint(DEFINER.format(schema="public") + "grant execute on function public.rotate_keys() to service_role;\n")
    )
    assert set(found) == {"definer-executable"}
    first, second = found["definer-executable"].fix.splitlines()[:2]
    assert first == "REVOKE EXECUTE ON FUNCTION public.rotate_keys() FROM PUBLIC, anon, authenticated;"
    assert second.startswith("GRANT EXECUTE ON FUNCTION public.rotate_keys() TO service_role;")


def test_revoking_the_app_roles_by_name_leaves_them_what_public_has():
    text = (
        DEFINER.format(schema="public") + "revoke execute on function public.rotate_keys() from anon, authenticated;\n"
    )
    found = by_rule(lint(text))
    assert "definer-executable" in found
    assert "anon and authenticated can execute it" in found["definer-executable"].message


def test_a_per_schema_default_revoke_does_not_take_back_publics_global_execute():
    prior = "alter default privileges in schema public revoke execute on functions from public, anon, authenticated;"
    assert "definer-executable" in by_rule(lint(DEFINER.format(schema="public"), prior))
    hardened = "alter default privileges revoke execute on functions from public;\n" + prior
    text = DEFINER.format(schema="public") + "grant execute on function public.rotate_keys() to service_role;\n"
    assert lint(text, hardened) == []


def test_functions_need_no_grant_public_executes_them_in_any_schema():
    assert (
        lint("create or replace function app.f() returns int language sql set search_path = '' as $$ select 1 $$;\n")
        == []
    )


def test_private_schema_from_config_and_earlier_default_privileges():
    table = "create table if not exists vault_data.tokens (id bigint primary key);\n"
    assert "service_role" in by_rule(lint(table, private=frozenset({"vault_data"})))["missing-grant"].message
    prior = (
        "alter default privileges in schema vault_data revoke all on tables from anon, authenticated;\n"
        "alter default privileges in schema vault_data grant all on tables to service_role;\n"
    )
    assert lint(table, prior) == []


def test_an_earlier_revoke_on_the_schema_is_a_decision_for_the_app_roles_only():
    prior = "create schema if not exists internal; revoke usage on schema internal from anon, authenticated;"
    found = by_rule(lint("create table if not exists internal.cache (k text primary key);\n", prior))
    assert "neither granted to nor revoked from service_role" in found["missing-grant"].message


def test_a_definer_policy_helper_is_moved_out_of_the_api_not_revoked_from_the_roles_its_policies_need():
    helper = (
        "create or replace function public.is_member(org bigint) returns boolean\n"
        "language sql stable security definer set search_path = ''\nas $$ select org > 0 $$;\n"
        "grant execute on function public.is_member(bigint) to service_role;\n"
    )
    policy = (
        "create table if not exists public.docs (id bigint primary key, org bigint);\n"
        "alter table public.docs enable row level security;\n"
        'drop policy if exists "docs read" on public.docs;\n'
        'create policy "docs read" on public.docs for select to authenticated using (public.is_member(org));\n'
    )
    for text, prior_or_later in ((helper + policy, None), (helper, policy)):
        if prior_or_later is None:
            findings = lint(text)
        else:  # the policy comes in a later file
            later = "20990101000000_later.sql"
            source = MigrationSource("20250101000000_x.sql", "x.sql", text, is_new=False)
            findings = lint_migrations([source], [later], {later: prior_or_later}.get)
        fix = by_rule(findings)["definer-executable"].fix
        assert "ALTER FUNCTION public.is_member(int8) SET SCHEMA private;" in fix and "REVOKE EXECUTE" not in fix
