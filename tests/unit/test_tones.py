"""One tone map for customer statuses: the grid's Status cells and the headers that show a status
(customer screen, portal account) take the same tone, drawn in the theme's colours (issue 13)."""

from __future__ import annotations

from carriertui.grid.model import Tone
from carriertui.store import customers
from carriertui.store.enums import CustomerStatus
from carriertui.widgets.format import tone_style


def test_the_grid_and_the_headers_read_one_map() -> None:
    status = next(column for column in customers.GRID_COLUMNS if column.key == "status")
    assert status.tone is not None
    for value in CustomerStatus:
        assert (
            status.tone(value) == customers.status_tone(value) == customers.status_tone(value.value)
        )
    assert customers.status_tone(CustomerStatus.PENALTY) is Tone.ERROR
    assert customers.status_tone(CustomerStatus.ACTIVE) is None
    assert customers.status_tone("not a status") is None


def test_header_styles_use_theme_variables_not_fixed_colours() -> None:
    for tone in Tone:
        style = tone_style(tone)
        assert "$" in style, tone
    assert tone_style(None, "bold") == "bold"
    assert tone_style(customers.status_tone(CustomerStatus.PENALTY)) == "bold $text-error"
