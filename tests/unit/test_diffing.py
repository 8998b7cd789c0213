"""View Difference's logic: changed fields by path, lists by id or position, JSON Patch."""

from __future__ import annotations

import copy

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriertui.diffing import (
    FieldChange,
    changed_fields,
    json_patch,
    side_by_side,
    unified_lines,
)

BEFORE = {
    "name": "ACME",
    "notes": {"public": "hello", "private": "internal"},
    "ip_whitelist": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
    "contacts": [{"id": 7, "email": "a@x.net"}, {"id": 9, "email": "b@x.net"}],
    "channels": 10,
}
AFTER = {
    "name": "ACME Ltd",
    "notes": {"public": "hello!", "private": "internal"},
    "ip_whitelist": ["1.1.1.1", "2.2.2.2"],
    "contacts": [{"id": 9, "email": "b2@x.net"}, {"id": 11, "email": "c@x.net"}],
    "channels": 10,
    "verified": True,
}


def test_nested_objects_lists_by_id_and_by_position() -> None:
    changes, unchanged = changed_fields(BEFORE, AFTER)
    assert changes == [
        FieldChange("contacts[id=7]", {"id": 7, "email": "a@x.net"}, None, "removed"),
        FieldChange("contacts[id=9].email", "b@x.net", "b2@x.net", "changed"),
        FieldChange("contacts[id=11]", None, {"id": 11, "email": "c@x.net"}, "added"),
        FieldChange("ip_whitelist[2]", "3.3.3.3", None, "removed"),
        FieldChange("name", "ACME", "ACME Ltd", "changed"),
        FieldChange("notes.public", "hello", "hello!", "changed"),
        FieldChange("verified", None, True, "added"),
    ]
    # channels, notes.private, ip_whitelist[0], ip_whitelist[1], contacts[id=9].id
    assert unchanged == 5


def test_create_and_delete_have_one_side() -> None:
    created, unchanged = changed_fields(None, {"a": 1, "b": {"c": 2}})
    # Top-level fields, a nested object shown whole (the full view has it line by line).
    assert [(c.path, c.after, c.kind) for c in created] == [
        ("a", 1, "added"),
        ("b", {"c": 2}, "added"),
    ]
    assert unchanged == 0
    deleted, _ = changed_fields({"a": 1}, None)
    assert [(c.path, c.before, c.kind) for c in deleted] == [("a", 1, "removed")]


def test_types_are_told_apart_and_odd_keys_are_quoted() -> None:
    changes, _ = changed_fields({"x": 1, "a.b": "q"}, {"x": True, "a.b": "r"})
    assert [c.path for c in changes] == ['["a.b"]', "x"]


def test_unicode_and_hostile_strings_stay_as_they_are() -> None:
    before = {"name": "Zürich [/", "note": "\x1b]2;PWNED\x07"}
    after = {"name": "Zürich [@click=app.quit]x[/]", "note": "\x1b]2;PWNED\x07"}
    changes, unchanged = changed_fields(before, after)
    assert changes == [FieldChange("name", "Zürich [/", "Zürich [@click=app.quit]x[/]", "changed")]
    assert unchanged == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (BEFORE, AFTER),
        ({}, {"a": [1, 2]}),
        ({"a": [1, 2, 3]}, {"a": [3, 2, 1]}),
        ({"a/b": 1, "c~d": 2}, {"a/b": 2}),
        ({"x": {"y": [{"id": 1}]}}, {"x": {"y": []}}),
    ],
)
def test_json_patch_applies_back(before: dict, after: dict) -> None:
    patch = json_patch(before, after)
    assert jsonpatch.apply_patch(copy.deepcopy(before), patch) == after


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.text(max_size=3), json_values, max_size=5),
    st.dictionaries(st.text(max_size=3), json_values, max_size=5),
)
def test_json_patch_property(before: dict, after: dict) -> None:
    assert jsonpatch.apply_patch(copy.deepcopy(before), json_patch(before, after)) == after


def test_full_views_mark_changed_lines() -> None:
    lines = unified_lines({"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert [(line.tag, line.text) for line in lines] == [
        (" ", "{"),
        (" ", '  "a": 1,'),
        ("-", '  "b": 2'),
        ("+", '  "b": 3'),
        (" ", "}"),
    ]
    rows = side_by_side({"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert [(row.left, row.right, row.changed) for row in rows][2] == ('  "b": 2', '  "b": 3', True)
    assert sum(row.changed for row in rows) == 1
