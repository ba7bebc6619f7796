"""nests_deeper_than: the depth of raw JSON, without recursion, brackets in strings skipped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dragonfly_bot.core.json_depth import nests_deeper_than


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.parametrize(
    "text, limit, deeper",
    [
        (b"[[[]]]", 3, False),
        (b"[[[[]]]]", 3, True),
        (b'["[[[[[[[[", {"a": "\\"[[[[[["}]', 2, False),  # in strings, escaped quotes too
        (b'["\\\\", [[[]]]]', 3, True),  # an escaped backslash ends the string before the quote
        (b"[" * 200_000, 64, True),  # unclosed, 200k deep: no recursion
        (b"]]]][[[", 2, True),  # stray closers do not buy depth
    ],
)
def test_depth_cases(text, limit, deeper):
    assert nests_deeper_than(text, limit) is deeper


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=30,
)


@given(json_values, st.integers(min_value=0, max_value=8))
def test_agrees_with_the_parsed_depth(value, limit):
    text = json.dumps(value).encode()
    assert nests_deeper_than(text, limit) is (_depth(value) > limit)
