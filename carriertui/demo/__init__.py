"""The demo database: built through the services, as an operator would."""
