"""Local AWS's settings from the environment, read and checked one way: a variable that is set must hold
a positive number (or, for a switch, 1 or 0), or local AWS refuses to start and names it."""

import os


def positive_setting(variable: str, default, kind: type = float):
    """The value of `variable` as a positive `kind` (float or int), `default` when it is not set."""
    raw = os.environ.get(variable)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not value > 0:
        noun = "whole number" if kind is int else "number"
        raise ValueError(f"{variable} must be a positive {noun}, got {raw!r}")
    return value


def switch_setting(variable: str) -> bool:
    """Whether `variable` is on: `1` or `0` (unset is off); any other value refuses to start and names it."""
    raw = os.environ.get(variable, "0")
    if raw not in ("0", "1"):
        raise ValueError(f"{variable} must be 1 (on) or 0 (off), got {raw!r}")
    return raw == "1"
