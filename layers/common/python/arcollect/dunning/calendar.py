"""The send-window calendar moved to the domain: ``arcollect.calendar``. This name stays only for the
Lambda handlers until they import it from there (issue 17); new code imports ``arcollect.calendar``."""

from arcollect.calendar import Calendar, SendWindow, WindowError, resolve_zone

__all__ = ["Calendar", "SendWindow", "WindowError", "resolve_zone"]
