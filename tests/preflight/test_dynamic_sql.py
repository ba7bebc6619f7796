"""The SQL a DO block's EXECUTE runs when its text is known before it runs (dragonfly_bot.core.lint.dynamic_sql)."""

from __future__ import annotations

import pytest

from dragonfly_bot.core.lint.parse import do_block_statements


def _executed(body: str, declare: str = "") -> list[str]:
    found = do_block_statements(f"do $$\ndeclare\n{declare}\nbegin\n{body}\nend $$;")
    assert found is not None
    return [query for _line, query, _guarded in found]


def test_format_over_a_constant_array_runs_once_per_element_with_quoting():
    executed = _executed(
        "foreach t in array tables loop\n"
        "  execute format('grant select on %I.%I to %s', 'public', t, 'authenticated');\n"
        "  execute format('comment on table public.%I is %L', t, 'it''s ' || t);\n"
        "end loop;",
        declare="tables text[] := array['notes', 'Mixed Case'];\nt text;",
    )
    assert executed == [
        "grant select on public.notes to authenticated",
        'grant select on public."Mixed Case" to authenticated',
        "comment on table public.notes is 'it''s notes'",
        "comment on table public.\"Mixed Case\" is 'it''s Mixed Case'",
    ]


def test_positional_arguments_percent_and_an_assignment_through_a_cast():
    executed = _executed(
        "fn := to_regprocedure(name);\nexecute format('revoke all on function %1$s from anon; -- 100%% %1$s', fn);",
        declare="name text := 'public.f(int)';\nfn regprocedure;",
    )
    assert executed == ["revoke all on function public.f(int) from anon; -- 100% public.f(int)"]


@pytest.mark.parametrize(
    ("declare", "body"),
    [
        # a row of a query, a parameter of the block's own SELECT INTO, a function it does not know
        (
            "r record;",
            "for r in select proname from pg_proc loop execute format('drop function %I', r.proname); end loop;",
        ),
        ("s text := 'a';", "select 'b' into s;\nexecute 'drop table ' || s;"),
        ("s text := 'a';", "execute 'drop table ' || upper(s);"),
        ("", "execute format('drop table %s', undeclared);"),
        ("s text := 'x';", "execute format('%5s', s);"),  # a width: not read
    ],
)
def test_a_text_not_known_before_it_runs_is_not_guessed(declare, body):
    assert [q for q in _executed(body, declare) if q.startswith("drop")] == []


def test_a_loop_variable_is_each_element_inside_unknown_after_and_loops_in_loops_are_bounded():
    executed = _executed(
        "foreach t in array xs loop t := t || '!'; execute 'select ' || t; end loop;\nexecute 'select ' || t;",
        declare="xs text[] := array['a', 'b'];\nt text := 'outer';",
    )
    assert executed == ["select a!", "select b!"]
    many = ", ".join(f"'{i}'" for i in range(60))
    nested = _executed(
        "foreach a in array xs loop foreach b in array xs loop\n"
        "  execute format('select %s, %s, %s', a, b, c);\nend loop; end loop;",
        declare=f"xs text[] := array[{many}];\na text;\nb text;\nc text := 'c';",
    )
    assert nested == []  # 3,600 turns: past MAX_TEXTS, not read (a loop of 60 alone is)
    single = _executed(
        "foreach a in array xs loop execute 'select ' || a; end loop;", declare=f"xs text[] := array[{many}];\na text;"
    )
    assert len(single) == 60 and single[-1] == "select 59"


@pytest.mark.parametrize(
    "body",
    [
        "if now() > '2020-01-01' then t := 'other'; end if;\nexecute 'select ' || t;",
        "for i in 1..3 loop t := t || 'x'; end loop;\nexecute 'select ' || t;",
        "begin null; exception when others then t := 'other'; end;\nexecute 'select ' || t;",
    ],
)
def test_after_a_branch_or_a_loop_that_may_set_it_a_variable_is_not_known(body):
    assert _executed(body, declare="t text := 'outer';\ni int;") == []


def test_inside_a_branch_the_value_it_sets_is_used():
    executed = _executed("if true then t := 'inner'; execute 'select ' || t; end if;", declare="t text := 'a';")
    assert executed == ["select inner"]
