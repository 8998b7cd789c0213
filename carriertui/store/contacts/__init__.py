"""Contacts: a customer's people and their portal logins. service (records, edits, logins; it names
the others' public functions too), fields (what may be edited and how each value is cleaned),
grid, credentials (the stored hash and login state, which the outbox also writes).
"""
