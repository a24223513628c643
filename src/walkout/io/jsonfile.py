"""Reading JSON documents with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from walkout.core.errors import WalkoutError


def read_json(path: str | Path, error: type[WalkoutError]) -> Any:
    """Parse a JSON file.

    Args:
        path: the file.
        error: the WalkoutError subclass to raise (e.g. StoreFileError, GroundTruthError).

    Raises:
        error: ``"<path>: file not found"`` or ``"<path>: not valid JSON (...)"``.
    """
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError as exc:
        raise error(f"{p}: file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{p}: not valid JSON ({exc})") from exc
