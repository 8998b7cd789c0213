"""Every key binding can be remapped, and F1's texts follow a remap (issue 13).

A binding without an ``id`` cannot be named in the config file's ``[keymap]``; a HELP text that
spells a key ("ctrl+g saves") goes stale when the key is remapped. So every ``Binding`` in the
package has an id, one id names one action, and HELP texts name keys by binding id
(``{customer.save_stay}``), which F1 turns into the keys in force.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator

from textual.binding import Binding
from textual.dom import DOMNode

import carriertui
from carriertui.screens.help import PLACEHOLDER, default_keys, help_text, keys_text


def _classes() -> Iterator[type[DOMNode]]:
    for info in pkgutil.walk_packages(carriertui.__path__, "carriertui."):
        if info.name.endswith("__main__"):  # running it is the CLI
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, DOMNode)
                and value.__module__ == module.__name__
            ):
                yield value


def _bindings() -> Iterator[tuple[str, object]]:
    for cls in _classes():
        for binding in cls.__dict__.get("BINDINGS", ()):
            yield f"{cls.__module__}.{cls.__qualname__}", binding


def test_every_binding_has_an_id_naming_one_action() -> None:
    missing = [
        f"{where}: {binding!r}"
        for where, binding in _bindings()
        if not isinstance(binding, Binding) or not binding.id
    ]
    assert missing == []
    actions: dict[str, set[tuple[str, str]]] = {}
    for where, binding in _bindings():
        assert isinstance(binding, Binding) and binding.id
        actions.setdefault(binding.id, set()).add((where, binding.action))
    shared = {key: found for key, found in actions.items() if len(found) > 1}
    assert shared == {}


def _help_texts() -> Iterator[tuple[str, str]]:
    for cls in _classes():
        text = cls.__dict__.get("HELP")
        if text:
            yield cls.__qualname__, text


def test_help_texts_name_keys_by_binding_id_and_every_id_exists() -> None:
    known = default_keys()
    texts = dict(_help_texts())
    assert len(texts) >= 15
    for where, text in texts.items():
        unknown = [name for name in PLACEHOLDER.findall(text) if name not in known]
        assert unknown == [], where
        spelled = PLACEHOLDER.sub("", text)
        # Keys spelled out instead of named: ctrl+x, F-keys, or a short backticked key.
        assert re.findall(r"ctrl\+\w|\bF\d+\b", spelled) == [], where
        short = [token for token in re.findall(r"`([^`]+)`", spelled) if len(token) <= 3]
        assert short == [], where


class _App:
    def __init__(self, keymap: dict[str, str]) -> None:
        self._keymap = keymap


def test_help_text_shows_the_keys_in_force_after_a_remap() -> None:
    text = "{contact_form.save_continue} saves; {customer.prev_tab} and {customer.next_tab} move"
    assert help_text(text, _App({})) == "`ctrl+g` saves; `[` and `]` move"
    remapped = help_text(text, _App({"contact_form.save_continue": "ctrl+e,f9"}))
    assert remapped == "`ctrl+e` or `f9` saves; `[` and `]` move"
    assert keys_text("escape,q") == "`esc` or `q`"
