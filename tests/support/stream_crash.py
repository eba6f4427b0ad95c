"""Drain the tracking stream once and die by SIGKILL after the commit, before the ack.

Run as `python -m tests.support.stream_crash` with BCF_DATABASE_URL, BCF_REDIS_URL and
BCF_STREAM_KEY set: the crash the stream's exactly-once design must survive.
"""

import os
import signal

import redis

from core.settings import Settings
from ingestion import stream


def _die(*_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    settings = Settings()
    stream._acknowledge = _die  # type: ignore[assignment]
    assert settings.redis_url
    assert settings.database_url
    stream.drain(redis.Redis.from_url(settings.redis_url), settings.database_url, settings)
