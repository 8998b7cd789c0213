"""A form's fields read as the service expects them: a Select left blank is None (not Textual's
"no selection" sentinel, which a service would store as text or refuse)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Select

from carriertui.widgets.form import FieldRow, Form


class SelectForm(App[None]):
    def compose(self) -> ComposeResult:
        options = [("Customer card", "customer"), ("Provider card", "provider")]
        with Form():
            yield FieldRow("Kind", Select(options, allow_blank=True, id="kind"), field="kind")


async def test_a_blank_select_reads_as_none_and_a_chosen_one_as_its_value() -> None:
    app = SelectForm()
    async with app.run_test(size=(80, 24)) as pilot:
        row = app.query_one(FieldRow)
        assert row.value is None
        assert app.query_one(Form).snapshot() == {"kind": None}
        select = app.query_one("#kind", Select)
        select.value = "provider"
        await pilot.pause()
        assert row.value == "provider"
        select.clear()
        await pilot.pause()
        assert row.value is None
