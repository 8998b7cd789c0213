"""Internal numbers. service (the number picker; it names the others' public functions too),
records (records, the plan, block arithmetic, the reads), blocks (allocate, release, list),
extensions (SIP users, conferences, aliases, the dial plan, the grid).
"""
