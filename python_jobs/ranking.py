"""Checks shared by the top-N list builders."""

from __future__ import annotations

from typing import Any


def check_positive_int(value: Any, *, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
