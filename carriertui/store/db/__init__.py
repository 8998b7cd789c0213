"""Storage: SQL and no business rule. The engine and its transactions, the tables and column types,
locks, row sources, the search index, the audit chain, and the migrations on top (nothing here
imports them). Services open the database through db.database.
"""
