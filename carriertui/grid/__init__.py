"""The data grid's model: columns, queries, row sources, aggregates and CSV export.

Pure Python (no Textual, no SQL): the widget (widgets/grid) renders it, the store implements the
SQL row source (store/rowsource.py), and both agree on the semantics defined here, which the
in-memory source (grid/memory.py) implements as the reference.
"""
