"""``carriertui config ...``: the configuration file."""

from __future__ import annotations

import argparse

from carriertui import locations
from carriertui.cli.common import EXIT_OK, Commands
from carriertui.cli.output import out
from carriertui.text import sanitize


def register(commands: Commands) -> None:
    config = commands.group("config", "configuration file")
    config.add("path", "print the configuration file's path", cmd_config_path)


def cmd_config_path(args: argparse.Namespace) -> int:
    out(sanitize(str(locations.config_path())))
    return EXIT_OK
