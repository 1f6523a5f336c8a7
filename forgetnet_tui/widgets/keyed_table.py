"""KeyedTable: a DataTable whose rows are addressed by string keys, kept in `_order`, with the cursor's key."""

from __future__ import annotations

from textual.widgets import DataTable


class KeyedTable(DataTable):
    """Subclasses set `_order` to the row keys in display order whenever they rebuild the rows."""

    _order: list[str]

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor (None on an empty table)."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
