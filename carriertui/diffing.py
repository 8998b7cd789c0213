"""Before/after comparison of audit records (pure: no Textual, no SQL).

``changed_fields`` lists what changed as dotted paths (``notes.public``, ``ip_whitelist[2]``);
lists of objects that all carry an ``id`` are matched by id (``contacts[id=7].email``), others by
position. ``json_patch`` expresses the change as RFC 6902 operations that turn ``before`` into
``after``. ``full_diff`` lines up the pretty-printed JSON of both sides for the full view.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["added", "removed", "changed"]
_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any  # _MISSING-free: None when the field did not exist (see ``kind``)
    after: Any
    kind: Kind


def _key_path(parent: str, key: str) -> str:
    simple = key.isidentifier()
    if simple:
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def _by_id(items: list[Any]) -> dict[Any, Any] | None:
    """Lists of objects that all have a distinct, hashable ``id`` are compared by id."""
    if not items or not all(isinstance(item, dict) and "id" in item for item in items):
        return None
    ids = [item["id"] for item in items]
    try:
        if len(set(ids)) != len(ids):
            return None
    except TypeError:
        return None
    return {item["id"]: item for item in items}


def _walk(path: str, before: Any, after: Any) -> Iterator[tuple[str, Any, Any, bool]]:
    """Yield (path, before, after, changed) for every leaf, missing sides as _MISSING."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            yield from _walk(
                _key_path(path, str(key)), before.get(key, _MISSING), after.get(key, _MISSING)
            )
        return
    if isinstance(before, list) and isinstance(after, list):
        before_ids, after_ids = _by_id(before), _by_id(after)
        if before_ids is not None and after_ids is not None:
            order = list(before_ids) + [k for k in after_ids if k not in before_ids]
            for item_id in order:
                yield from _walk(
                    f"{path}[id={item_id}]",
                    before_ids.get(item_id, _MISSING),
                    after_ids.get(item_id, _MISSING),
                )
            return
        for index in range(max(len(before), len(after))):
            yield from _walk(
                f"{path}[{index}]",
                before[index] if index < len(before) else _MISSING,
                after[index] if index < len(after) else _MISSING,
            )
        return
    yield path, before, after, not _same(before, after)


def _same(a: Any, b: Any) -> bool:
    # 1 == True and 1 == 1.0 in Python; JSON tells them apart.
    return type(a) is type(b) and a == b


def changed_fields(before: Any, after: Any) -> tuple[list[FieldChange], int]:
    """The changed leaves and how many leaves are unchanged. A missing side (CREATE, DELETE) is
    ``None``: every field is then added or removed."""
    changes: list[FieldChange] = []
    unchanged = 0
    left = {} if before is None else before
    right = {} if after is None else after
    for path, old, new, changed in _walk("", left, right):
        if not changed:
            unchanged += 1
            continue
        if old is _MISSING:
            changes.append(FieldChange(path or "(value)", None, new, "added"))
        elif new is _MISSING:
            changes.append(FieldChange(path or "(value)", old, None, "removed"))
        else:
            changes.append(FieldChange(path or "(value)", old, new, "changed"))
    return changes, unchanged


# -- RFC 6902 -------------------------------------------------------------------------------


def _pointer(parts: list[str | int]) -> str:
    """RFC 6901: ``~`` as ``~0`` and ``/`` as ``~1``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def json_patch(before: Any, after: Any) -> list[dict[str, Any]]:
    """Operations that turn ``before`` into ``after`` when applied in order (RFC 6902).

    Objects are compared key by key; lists of equal length item by item; a list whose length
    changed is replaced whole (always correct, and short for the small lists audit records hold).
    """
    operations: list[dict[str, Any]] = []
    _patch([], before, after, operations)
    return operations


def _patch(parts: list[str | int], before: Any, after: Any, out: list[dict[str, Any]]) -> None:
    if _same(before, after):
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before, key=str):
            if key not in after:
                out.append({"op": "remove", "path": _pointer([*parts, key])})
        for key in sorted(after, key=str):
            if key not in before:
                out.append({"op": "add", "path": _pointer([*parts, key]), "value": after[key]})
            else:
                _patch([*parts, key], before[key], after[key], out)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _patch([*parts, index], old, new, out)
        return
    out.append({"op": "replace", "path": _pointer(parts), "value": after})


# -- the full view --------------------------------------------------------------------------


def pretty(value: Any) -> list[str]:
    """Key-sorted, indented JSON lines (no lines for a missing side)."""
    if value is None:
        return []
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


@dataclass(frozen=True)
class DiffLine:
    """One line of the full view: ``tag`` is " " (same), "-" (only before), "+" (only after)."""

    tag: str
    text: str


@dataclass(frozen=True)
class SideBySide:
    left: str | None
    right: str | None
    changed: bool


def unified_lines(before: Any, after: Any) -> list[DiffLine]:
    """Both records' JSON as one column: unchanged lines once, removed with -, added with +."""
    old, new = pretty(before), pretty(after)
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            lines.extend(DiffLine(" ", text) for text in old[i1:i2])
            continue
        lines.extend(DiffLine("-", text) for text in old[i1:i2])
        lines.extend(DiffLine("+", text) for text in new[j1:j2])
    return lines


def side_by_side(before: Any, after: Any) -> list[SideBySide]:
    """Both records' JSON in two columns, aligned, changed rows marked."""
    old, new = pretty(before), pretty(after)
    rows: list[SideBySide] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(SideBySide(text, text, False) for text in old[i1:i2])
            continue
        left, right = old[i1:i2], new[j1:j2]
        for index in range(max(len(left), len(right))):
            rows.append(
                SideBySide(
                    left[index] if index < len(left) else None,
                    right[index] if index < len(right) else None,
                    True,
                )
            )
    return rows


def compact(value: Any) -> str:
    """A value as one line of JSON, for the changed-fields table."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
