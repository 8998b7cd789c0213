"""Reusable widgets. They render data only through widgets/plain.py."""
