"""Data-agnostic widgets the screens are built from: a live table and a log viewer."""

from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_view import LogView
from buildwatch.tui.widgets.table_model import Cell, Column, TableRow

__all__ = ["Cell", "Column", "LiveTable", "LogView", "TableRow"]
