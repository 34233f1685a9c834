"""Small helpers that turn numbers and times into the words reasons are made of."""

from __future__ import annotations

from datetime import timedelta


def ago(delta: timedelta) -> str:
    """``timedelta(hours=30)`` → ``"yesterday"``; how long ago, in the words an agent uses."""
    seconds = delta.total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} minutes ago"
    if seconds < 86400:
        hours = round(seconds / 3600)
        return "an hour ago" if hours == 1 else f"{hours} hours ago"
    if seconds < 2 * 86400:
        return "yesterday"
    return f"{int(seconds // 86400)} days ago"


def span(delta: timedelta) -> str:
    """``timedelta(days=7)`` → ``"7 days"``."""
    seconds = delta.total_seconds()
    if seconds % 86400 == 0 and seconds >= 86400:
        days = int(seconds // 86400)
        return "1 day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = int(seconds // 3600)
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = round(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
