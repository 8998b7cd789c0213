"""Form rows: a label, a control, and the validation message right under the control."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Switch, TextArea

from carriertui.widgets.plain import plain


def switch_state(on: bool) -> str:
    return "On" if on else "Off"


class FieldRow(Vertical):
    """One field of a form. ``field`` is the service's field name, so a ValidationError's
    ``field`` finds the row to show its message under."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > Horizontal { height: auto; }
    FieldRow .field-label { width: 20; padding: 0 1 0 0; }
    FieldRow .field-control { width: 1fr; }
    FieldRow .field-error { display: none; padding: 0 0 0 20; }
    FieldRow .switch-state { width: auto; padding: 0 0 0 1; }
    FieldRow.-invalid .field-error { display: block; }
    """

    def __init__(self, label: str, control: Widget, *, field: str, hint: str = "") -> None:
        super().__init__(id=f"row-{field}", classes="field-row")
        self.field = field
        self.control = control
        control.add_class("field-control")
        self._label = label
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self._label, classes="field-label", markup=False)
            yield self.control
            if isinstance(self.control, Switch):
                # The switch's state in words: its look alone is a colour (NO_COLOR, monochrome
                # themes and colour-blind operators see no difference).
                yield Label(switch_state(self.control.value), classes="switch-state", markup=False)
        # The message line under the control is mounted with the first error: most rows never
        # show one, and every widget costs time each time a form opens.

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        if event.switch is self.control:
            self.query_one(".switch-state", Label).update(switch_state(event.value))

    def on_mount(self) -> None:
        if self._hint:
            self.control.tooltip = self._hint

    def set_error(self, message: str | None) -> None:
        error = self.query_one_optional(".field-error", Label)
        if error is None:
            if not message:
                return
            error = Label("", classes="field-error", markup=False)
            self.mount(error)
        error.update(plain(f"\u26a0 {message}") if message else "")
        self.set_class(bool(message), "-invalid")

    @property
    def value(self) -> object:
        control = self.control
        if isinstance(control, Input):
            return control.value
        if isinstance(control, Select):
            return None if control.is_blank() else control.value  # blank: Select.NULL
        if isinstance(control, Switch):
            return control.value
        if isinstance(control, TextArea):
            return control.text
        raise TypeError(f"unsupported control {type(control).__name__}")

    def show(self, value: object) -> None:
        """Put ``value`` (as the form shows it: text, a Switch's bool, a Select's option
        value, None for a blank Select) into the control."""
        control = self.control
        if isinstance(control, Input):
            control.value = "" if value is None else str(value)
        elif isinstance(control, Select):
            if value is None:
                control.clear()
            else:
                control.value = value
        elif isinstance(control, Switch):
            control.value = bool(value)
        elif isinstance(control, TextArea):
            control.text = "" if value is None else str(value)
        else:
            raise TypeError(f"unsupported control {type(control).__name__}")


class Form(Vertical):
    """A column of FieldRows with helpers to read values and show errors, and to tell whether
    the operator changed anything since the form was filled (``mark_clean``)."""

    DEFAULT_CSS = """
    Form { height: auto; }
    """

    _clean: dict[str, object] | None = None

    def snapshot(self) -> dict[str, object]:
        """Every row's value, hidden rows (a typed password under Auto) included."""
        return {row.field: row.value for row in self.rows()}

    def mark_clean(self) -> None:
        """The form now shows what is saved (or a blank new record): nothing to lose yet."""
        self._clean = self.snapshot()

    @property
    def dirty(self) -> bool:
        """Whether closing now would drop something the operator typed or toggled. A form
        whose data never arrived has nothing of the operator's in it."""
        return self._clean is not None and self.snapshot() != self._clean

    def rows(self) -> Iterable[FieldRow]:
        return self.query(FieldRow)

    def row(self, field: str) -> FieldRow | None:
        for row in self.rows():
            if row.field == field:
                return row
        return None

    def values(self) -> dict[str, object]:
        return {row.field: row.value for row in self.rows() if not row.control.disabled}

    def clear_errors(self) -> None:
        for row in self.rows():
            row.set_error(None)

    def show_validation_error(self, error: Exception) -> bool:
        """Show a service's ValidationError under its fields (each bad field's message, the
        first of them in form order focused); False when it is another error or names a field
        this form does not have (the caller reports it another way)."""
        errors = getattr(error, "errors", None)
        if errors is None:
            field, message = getattr(error, "field", None), getattr(error, "message", None)
            errors = ((field, message),)
        if not errors or not all(field and message for field, message in errors):
            return False
        rows = [self.row(str(field)) for field, _message in errors]
        if any(row is None for row in rows):
            return False
        for row, (_field, message) in zip(rows, errors, strict=True):
            row.set_error(str(message))  # type: ignore[union-attr]
        order = list(self.rows())
        first = min(rows, key=order.index)  # type: ignore[arg-type]
        first.control.focus()  # type: ignore[union-attr]
        return True

    def show_error(self, field: str, message: str) -> bool:
        """Put ``message`` under ``field`` and focus it; False when the form has no such field."""
        row = self.row(field)
        if row is None:
            return False
        row.set_error(message)
        row.control.focus()
        return True
