"""Screens and modals: thin layers that compose widgets and call services in workers."""
