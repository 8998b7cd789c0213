"""One grid for every table: sort, filter, search, selection, aggregates, copy and export.

``Grid`` is what screens use; it wraps the virtual ``DataGrid`` view with filter chips, a search
box, a status line and the dialogs.
"""

from carriertui.widgets.grid.container import Grid, RowAction, RowActivated
from carriertui.widgets.grid.view import DataGrid, Selection

__all__ = ["DataGrid", "Grid", "RowAction", "RowActivated", "Selection"]
