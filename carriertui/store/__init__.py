"""Tables, engine and services. No Textual or Rich here (import-linter enforces it).

Importing this package is cheap; importing its modules pulls in SQLModel (about 0.6 s), so the TUI
imports them after its first frame.
"""
