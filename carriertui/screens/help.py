"""F1: what this screen is for and every key it answers to."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Markdown, Static

from carriertui.widgets.plain import plain_text

_KEY_NAMES = {
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "slash": "/",
    "equals_sign": "=",
    "plus": "+",
    "escape": "esc",
}


def key_label(key: str) -> str:
    return _KEY_NAMES.get(key, key)


# A HELP text names a key by its binding's id, ``{customer.save_stay}``, never by the key itself:
# F1 then shows the key in force, after the user's [keymap] (README "Keys in the TUI").
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+\.[a-z0-9_]+)\}")


def default_keys() -> dict[str, str]:
    """Every binding id of the loaded widget and screen classes -> its keys as written."""
    keys: dict[str, str] = {}
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                keys.setdefault(binding.id, binding.key)
    return keys


def keys_text(keys: str) -> str:
    """``"escape,q"`` as Markdown: `` `esc` or `q` ``."""
    labels = [f"`{key_label(key.strip())}`" for key in keys.split(",") if key.strip()]
    return " or ".join(labels)


def help_text(text: str, app: Any) -> str:
    """``text`` with each ``{binding.id}`` replaced by the keys in force for that binding."""
    if "{" not in text:
        return text
    defaults = default_keys()
    # Textual keeps the keymap the app set (set_keymap) only here; it has no public getter.
    keymap: dict[str, str] = getattr(app, "_keymap", {}) or {}

    def keys_of(match: re.Match[str]) -> str:
        binding_id = match.group(1)
        keys = keymap.get(binding_id) or defaults.get(binding_id)
        return keys_text(keys) if keys else match.group(0)

    return PLACEHOLDER.sub(keys_of, text)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, target: Screen[object]) -> None:
        super().__init__()
        self._target = target

    def compose(self) -> ComposeResult:
        title = getattr(self._target, "TITLE_TEXT", "") or type(self._target).__name__
        with Vertical(classes="dialog help-dialog", id="help-dialog"):
            yield Static(f"Help: {title}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                # HELP texts are written by us (class attributes), never data: Markdown is safe.
                text = help_text(getattr(self._target, "HELP", ""), self.app)
                yield Markdown(text or "No help for this screen.")
                table: DataTable[object] = DataTable(
                    id="help-keys", classes="help-keys", cursor_type="row", show_cursor=False
                )
                yield table
            yield Static(
                "Esc closes · ctrl+p opens the command palette", classes="hint", markup=False
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(plain_text("Key"), plain_text("Does"))
        seen: set[str] = set()
        # The screen's own keys first, then the app's, then the focused widget's.
        rank = {id(self._target): 0, id(self.app): 1}
        active = sorted(
            self._target.active_bindings.items(), key=lambda item: rank.get(id(item[1].node), 2)
        )
        for key, binding_info in active:
            binding = binding_info.binding
            description = binding.tooltip or binding.description
            label = key_label(key)
            if label in seen or not description or not binding_info.enabled:
                continue
            seen.add(label)
            if binding.action == "clear_selection":
                # The grid passes Esc on when nothing is selected: say what it does then.
                after = self._next_binding(key, binding_info.node)
                if after is not None:
                    description += f"; with nothing selected: {after}"
            table.add_row(plain_text(label), plain_text(description))
        table.add_row(
            plain_text("ctrl+p"), plain_text("Command palette: customer: NAME, go: …, theme: …")
        )
        table.add_row(plain_text("f1"), plain_text("This help"))

    def _next_binding(self, key: str, node: object) -> str | None:
        """The description of the binding ``key`` reaches past ``node`` (further up from the
        focused widget), or None."""
        chain = self._target._modal_binding_chain
        nodes = [namespace for namespace, _bindings in chain]
        if node not in nodes:
            return None
        for namespace, bindings in chain[nodes.index(node) + 1 :]:
            for binding in bindings.key_to_bindings.get(key, ()):
                if binding.priority:
                    continue
                if self.app._check_action_state(binding.action, namespace):
                    return binding.tooltip or binding.description
        return None

    def action_close(self) -> None:
        self.dismiss(None)
