"""The footer of every screen: the keys in force, each shown whole or not at all.

Textual's Footer lays the keys out in one line and lets the docked palette key cover the
ones that do not fit, so at 80x24 an operator read `f1 H▏` and `c Confere▏`. This one is
compact (one space between keys) and leaves out, whole, the keys that do not fit: first the
app's own (quit, theme), then the grid's generic ones, then the rest from the right. F1 (help,
which lists every key) always stays.

Textual's Footer rebuilds all its keys after every refresh_bindings (each focus change, each
screen's own refresh), one rebuild per call; opening a customer made about 20 of them, and
each new key restyled itself once or twice as it mounted (its compact state set after the
fact). SteadyFooter, Textual's Footer as it looks, and KeyFooter rebuild once per burst, only
when the keys they would show differ from those shown, with keys made in their final state.
"""

from __future__ import annotations

from collections import defaultdict

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP = ("help", "app.help")
# Left out first when the line is too short (the footer shows what is special here).
DROP_FIRST = ("quit", "app.quit")
GENERIC_PREFIX = "grid."


def _settled(widget: Widget, compact: bool) -> Widget:
    """A footer key made in the compact state it ends up in (the footer's, bound to it; the
    palette key keeps FooterKey's default), so mounting it changes no class."""
    if isinstance(widget, FooterKey):
        final = True if widget.has_class("-command-palette") else compact
        widget.set_reactive(FooterKey.compact, final)
        widget.set_class(final, "-compact", update=False)
    return widget


class SteadyFooter(Footer):
    """Textual's Footer, rebuilt once per burst of binding changes and only when they differ."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rebuild_pending = False
        self._shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False
        if self.is_attached and self._layout() != self._shown:
            await self.recompose()

    def _layout(self) -> tuple[object, ...]:
        """What compose would show now: each key's binding, state and tooltip, and the width."""
        if not self._bindings_ready:
            return ()
        palette = self.app.COMMAND_PALETTE_BINDING
        return (
            self.size.width or self.app.size.width,
            self.compact,
            self.show_command_palette,
            self.combine_groups,
            tuple(
                (key, binding, enabled, tooltip)
                for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
                if binding.show or key == palette
            ),
        )

    def compose(self) -> ComposeResult:
        self._shown = self._layout()
        for widget in self.compose_keys():
            yield _settled(widget, self.compact)

    def compose_keys(self) -> ComposeResult:
        yield from super().compose()


class KeyFooter(SteadyFooter):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(**kwargs)
        self._laid_out_width = 0

    def compose_keys(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        by_action: defaultdict[str, list[tuple[DOMNode, Binding, bool, str]]] = defaultdict(list)
        for node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((node, binding, enabled, tooltip))
        shown = [entries[0] for entries in by_action.values()]
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        width = self.size.width or self.app.size.width
        # The palette key: its text, one cell of border on its left.
        room = width - (self._key_width(palette.binding, palette_key=True) if palette else 0)
        keep = self._fitting(shown, room)
        self._laid_out_width = width
        for _node, binding, enabled, tooltip in shown:
            if id(binding) not in keep:
                continue
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            yield FooterKey(
                palette.binding.key,
                self.app.get_key_display(palette.binding),
                palette.binding.description,
                palette.binding.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=palette.binding.tooltip or palette.binding.description,
            )

    def _key_width(self, binding: object, *, palette_key: bool = False) -> int:
        key = cell_len(self.app.get_key_display(binding))  # type: ignore[arg-type]
        description = cell_len(binding.description)  # type: ignore[attr-defined]
        if palette_key:
            return 1 + key + 1 + description  # border, key, space, description
        return key + 1 + description + 1  # key, space, description, margin

    def _fitting(self, shown: list[tuple[DOMNode, Binding, bool, str]], room: int) -> set[int]:
        """The ids of the bindings that fit in ``room`` cells, whole."""
        widths = {id(binding): self._key_width(binding) for _n, binding, _e, _t in shown}
        kept = [binding for _n, binding, _e, _t in shown]

        def order(item: tuple[int, object]) -> tuple[int, int]:
            index, binding = item
            action = binding.action  # type: ignore[attr-defined]
            binding_id = binding.id or ""  # type: ignore[attr-defined]
            if action in DROP_FIRST:
                return (0, -index)
            if binding_id.startswith(GENERIC_PREFIX):
                return (1, -index)
            return (2, -index)

        candidates = sorted(
            ((index, binding) for index, binding in enumerate(kept) if binding.action not in KEEP),
            key=order,
        )
        total = 1 + sum(widths.values())  # one cell of padding on the left
        for _index, binding in candidates:
            if total <= room:
                break
            kept.remove(binding)
            total -= widths[id(binding)]
        return {id(binding) for binding in kept}

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._laid_out_width:
            self.call_after_refresh(self.recompose)
