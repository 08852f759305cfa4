"""The error of a bad setting, in a module of its own: every command catches it, and importing
it must not cost `analyze` the settings' libraries (pydantic-settings takes a tenth of a second)."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting has a value floorpulse cannot use; the message names it and says what to fix."""
