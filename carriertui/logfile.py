"""The log file that "details in the log" points at.

Only warnings and errors are written, to a small rotating file (1 MB, three old copies) readable by
its owner alone. Opening it is lazy and never fatal: a read-only home still runs the app.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_LOGGER = "carriertui"
_handler: logging.Handler | None = None
_configured: Path | None = None


def configure() -> Path | None:
    """Attach the rotating file handler (again, if the log's place changed, as between tests
    with their own CARRIERTUI_HOME); returns the file's path, or None if it cannot be written."""
    global _configured, _handler
    from carriertui import locations

    path = locations.log_path()
    if _configured == path:
        return path
    from logging.handlers import RotatingFileHandler

    logger = logging.getLogger(_LOGGER)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        os.chmod(path, 0o600)
    except OSError:
        return None
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler.close()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    _handler, _configured = handler, path
    return path


def log_unexpected(message: str, error: BaseException) -> str:
    """Log ``error`` with its traceback; returns where to read it ("the log" if unknown)."""
    path = configure()
    logging.getLogger(_LOGGER).error(message, exc_info=error)
    return str(path) if path is not None else "the log"
