"""The one path from data to the screen.

Textual parses plain ``str`` as markup in Static, Label, DataTable cells, notifications and the
command palette: a customer named ``[@click=app.quit]x[/]`` would become a clickable action and
``[/`` would crash the app. Every data string therefore goes through
:func:`carriertui.text.sanitize` and is wrapped in a ``Content`` or ``Text`` object, which
Textual renders as is.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Label

from carriertui.text import sanitize


def plain(value: object, *, multiline: bool = False, style: str = "") -> Content:
    """Data as Content: control characters made visible, no markup parsed."""
    content = Content(sanitize(value, multiline=multiline))
    return content.stylize(style) if style else content


def plain_text(value: object, *, style: str = "", justify: str | None = None) -> Text:
    """Data as a Rich Text (for DataTable cells): one line, no markup parsed."""
    return Text(
        sanitize(value),
        style=style,
        no_wrap=True,
        overflow="ellipsis",
        end="",
        justify=justify,  # type: ignore[arg-type]
    )


def join(*parts: Content | tuple[object, str] | str) -> Content:
    """Assemble Content from pieces: Content as is, ``(value, style)`` as styled plain data,
    and bare ``str`` as literal text written by us (never data)."""
    pieces: list[Content] = []
    for part in parts:
        if isinstance(part, Content):
            pieces.append(part)
        elif isinstance(part, tuple):
            value, style = part
            pieces.append(plain(value, style=style))
        else:
            pieces.append(Content(part))
    return Content("").join(pieces)


class PlainLabel(Label):
    """A Label whose text is data: never parsed as markup."""

    def __init__(self, value: object = "", *, multiline: bool = False, **kwargs: object) -> None:
        super().__init__(plain(value, multiline=multiline), markup=False, **kwargs)  # type: ignore[arg-type]
        self._multiline = multiline

    def set_value(self, value: object) -> None:
        self.update(plain(value, multiline=self._multiline))


def notify_plain(
    app,
    message: object,
    *,
    title: object = "",
    severity: str = "information",
    timeout: float | None = None,
) -> None:
    """``App.notify`` for messages that may contain data: markup off, controls neutralised."""
    app.notify(
        sanitize(message, multiline=True),
        title=sanitize(title),
        severity=severity,
        timeout=timeout,
        markup=False,
    )
