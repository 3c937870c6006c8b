"""Wall time of the test suite: a base revision against the current tree, run alternately.

    python3 bench/suite_time.py --base <revision> [--rounds N] [-- <pytest arguments>]

The base revision is checked out in a temporary ``git worktree``; the current tree is this working
directory as it is (uncommitted changes included). Each round runs ``python3 -m pytest <arguments>``
(the README's test command when no arguments are given) in the base tree, then in the current tree
(the order alternates from round to round, so a machine that slows down or speeds up during the run
weighs on both alike), and reports each wall time, the medians and the ratio current / base.

Each run imports ``mom`` from its own tree: a folder with a ``mom`` link to the tree and a
``sitecustomize.py`` that drops the editable install's import hook is put first on PYTHONPATH (the
child processes the tests start, such as ``mom serve``, inherit it). MOM_TEST_DATABASE_URL and the
rest of the environment pass through unchanged.

Examples::

    python3 bench/suite_time.py --base 97faf39~1                       # README's command, one round
    python3 bench/suite_time.py --base 97faf39~1 --rounds 2 -- --ignore=tests/ui -q -p no:cacheprovider
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SITECUSTOMIZE = '''"""Written by bench/suite_time.py: import mom from the tree linked beside this file, not from the
editable install (its finder and path hook are dropped)."""
import sys

sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p]
sys.path_importer_cache.clear()
'''


def shim(folder: Path, tree: Path) -> Path:
    """A PYTHONPATH entry under which ``import mom`` finds ``tree``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mom").symlink_to(tree, target_is_directory=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


def run(tree: Path, path_entry: Path, args: list[str], log: Path) -> dict[str, object]:
    """One pytest run in ``tree``; its output goes to ``log``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(path_entry), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    with log.open("w") as out:
        rc = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=tree, env=env, stdout=out,
                             stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    return {"seconds": round(seconds, 1), "exit": rc, "summary": tail[0].strip("= ")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the worktree and the logs")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: pytest arguments (default none)")
    opts = parser.parse_args()
    args = [a for a in opts.pytest_args if a != "--"] if opts.pytest_args else []
    work = Path(tempfile.mkdtemp(prefix="suite-time-"))
    base_tree = work / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base_tree), opts.base], check=True)
    base_rev = subprocess.run(["git", "-C", str(base_tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    trees = {"base": (base_tree, shim(work / "shim-base", base_tree)), "current": (ROOT, shim(work / "shim-current", ROOT))}
    times: dict[str, list[float]] = {"base": [], "current": []}
    try:
        for n in range(opts.rounds):
            for side in (("base", "current") if n % 2 == 0 else ("current", "base")):
                tree, entry = trees[side]
                got = run(tree, entry, args, work / f"{side}-{n + 1}.log")
                times[side].append(float(got["seconds"]))    # type: ignore[arg-type]
                print(json.dumps({"round": n + 1, "tree": side, **got}), flush=True)
    finally:
        if not opts.keep:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], check=False)
    base, current = statistics.median(times["base"]), statistics.median(times["current"])
    print(f"command: python3 -m pytest {' '.join(args)}".rstrip())
    print(f"base {opts.base} ({base_rev}): median {base:.1f} s of {times['base']}")
    print(f"current tree: median {current:.1f} s of {times['current']}")
    print(f"ratio current / base: {current / base:.2f}")
    print(f"logs in {work}" + (" (the base worktree too)" if opts.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
