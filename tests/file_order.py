"""The order in which pytest-xdist hands test files to its workers (``--dist loadfile``, pyproject.toml).

xdist's own order is the number of tests in a file, most first; a file of one long test (the OpenAPI
fuzz: one test, about a minute) or a browser file of three tests then starts last and keeps one worker
busy while the other has long finished. Here the longest files go first (longest processing time first,
the classic list-scheduling rule): a file's expected seconds are its measured time below, else its
number of tests times a per-folder time per test. A file still runs on one worker, whole, in its own
order; only the order of the files changes. tests/conftest.py installs this for ``--dist loadfile``.

The seconds are pytest's own (call + set-up + tear-down) on the 2-core machine, 2026-12-03 (docs/benchmarks.md,
"Test suite wall time"); a file missing here or a number out of date only makes the order less good.
"""
from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

#: measured seconds of the files that take longest (everything else is estimated from its number of tests)
SECONDS: dict[str, float] = {
    "tests/integration/test_openapi_fuzz.py": 70,
    "tests/integration/test_import_memory.py": 32,
    "tests/unit/test_scheduling_lns.py": 30,
    "tests/integration/test_serve_workers.py": 16,
}

#: seconds per test of a file not in SECONDS, by the folder it is in (browser tests are the slowest)
PER_TEST = {"tests/ui/": 6.0, "tests/integration/": 0.8, "tests/unit/": 0.1}


def expected_seconds(path: str, tests: int) -> float:
    """What a test file of ``tests`` tests is expected to take (``path`` as in its node ids)."""
    if path in SECONDS:
        return SECONDS[path]
    per_test = next((s for folder, s in PER_TEST.items() if path.startswith(folder)), 0.5)
    return tests * per_test


class LongestFileFirst(LoadFileScheduling):
    """``--dist loadfile`` that hands out the file expected to take longest first."""

    def _assign_work_unit(self, node: Any) -> None:
        longest = max(self.workqueue, key=lambda path: expected_seconds(path, len(self.workqueue[path])))
        self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)
