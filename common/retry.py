"""Retrying failed work: the wait before the next try doubles with every failed one."""

from datetime import timedelta


def backoff(first_wait_seconds: float, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: first_wait_seconds, then twice that, four times…"""
    return timedelta(seconds=first_wait_seconds * 2 ** max(attempts - 1, 0))
