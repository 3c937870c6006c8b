"""A worker process for the crash test: every rule run sleeps a little, so it can be killed mid-batch."""
from __future__ import annotations

import sys
import threading
import time

from mom.engines.workflow.actions import register_hook
from mom.platform.db.engine import make_engine
from mom.platform.settings import Settings
from mom.platform.worker import Worker

register_hook("test.slow", lambda rt, args, names: time.sleep(0.05))

if __name__ == "__main__":
    url = sys.argv[1]
    settings = Settings(database_url=url, worker_lease_seconds=2, worker_batch=20, worker_poll_seconds=0.1)
    Worker(make_engine(url, pool_size=2), settings, name="doomed").run(threading.Event())
