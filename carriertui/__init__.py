"""carriertui: a carrier platform's customer-management tab, in the terminal."""

__version__ = "0.1.0"
