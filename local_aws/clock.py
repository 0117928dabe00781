"""The time local AWS stamps resources and events with: aware UTC, as AWS's answers carry it."""

import datetime


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
