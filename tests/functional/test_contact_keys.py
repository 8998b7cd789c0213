"""The contacts keys do what they say (issue 12.4): L is Portal Login (l stays the grid's move
right), the row menu is titled with the contact and its hinted keys act inside it."""

from __future__ import annotations

from pathlib import Path

from carriertui.app import CarrierApp
from carriertui.screens.customer.contact_form import ContactFormScreen
from carriertui.screens.customer.contact_password import ContactPasswordScreen
from carriertui.screens.customer.screen import CustomerScreen
from carriertui.screens.row_menu import RowMenu
from carriertui.widgets.confirm import ConfirmScreen
from tests.functional.harness import seed, settle, wait_for
from tests.functional.rendered import rendered_text
from tests.functional.test_contacts import SIZE, _add_contact, _contacts_tab


async def test_shift_l_is_portal_login_and_l_still_moves_right(tmp_path: Path) -> None:
    from carriertui.screens.portal import PortalScreen

    url = seed(tmp_path / "c.sqlite")
    _add_contact(url)
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _contacts_tab(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert pane.grid.view.cursor == (0, 1)  # hjkl work here as in every grid
        assert isinstance(app.screen, CustomerScreen)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, PortalScreen))


async def test_the_row_menu_names_the_contact_and_its_keys_act_in_it(tmp_path: Path) -> None:
    from carriertui.screens.portal import PortalScreen

    url = seed(tmp_path / "c.sqlite")
    _add_contact(url, name="Jane [b]Roe[/] [@click=app.quit]x")
    app = CarrierApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await _contacts_tab(pilot)
        for key, opened in (
            ("p", ContactPasswordScreen),
            ("e", ContactFormScreen),
            ("delete", ConfirmScreen),
            ("L", PortalScreen),
        ):
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, RowMenu))
            text = rendered_text(app)
            assert "All rows (nothing selected)" not in text
            # The contact's name, as plain text (never markup).
            assert "Jane [b]Roe[/] [@click=app.quit]x" in text
            await pilot.press(key)
            await wait_for(pilot, lambda opened=opened: isinstance(app.screen, opened))
            await settle(pilot)
            if opened is not PortalScreen:
                await pilot.press("escape")
                await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen))
                await settle(pilot)


async def test_the_operators_row_menu_names_the_account_and_its_keys_act_in_it(
    tmp_path: Path,
) -> None:
    from carriertui.screens.operators import AccountFormScreen
    from tests.functional.test_operators import _cursor_to, _operators_screen

    app = CarrierApp(seed(tmp_path / "o.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        from tests.functional.harness import log_in

        await log_in(pilot)
        screen = await _operators_screen(pilot)
        await _cursor_to(pilot, screen, "vic")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, RowMenu))
        assert rendered_text(app).count("│ vic ") == 1  # the title
        await pilot.press("e")  # Change role (e)
        await wait_for(pilot, lambda: isinstance(app.screen, AccountFormScreen))
        assert "Role of vic" in rendered_text(app)
