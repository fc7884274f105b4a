"""A SIGALRM guard for tests: fail with TimeoutError instead of hanging CI."""

from __future__ import annotations

import signal


class Alarm:
    """``with Alarm(60): ...`` raises TimeoutError if the block runs longer than ``seconds``."""

    def __init__(self, seconds: int, what: str = "the block"):
        self.seconds = seconds
        self.what = what

    def __enter__(self):
        def boom(*_):
            raise TimeoutError(f"{self.what} took more than {self.seconds}s")

        self.old = signal.signal(signal.SIGALRM, boom)
        signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
