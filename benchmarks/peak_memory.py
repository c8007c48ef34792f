"""Run a command and print its wall time and the peak memory of its whole process tree.

``/usr/bin/time -v`` reports the largest single process it waited for, and a dbt build on the
local session is three kinds of process: dbt's Python, the Spark driver JVM it starts, and
the Python workers Spark starts for pandas UDFs. This samples ``/proc`` every second and
adds up the resident memory (RSS) of every live descendant, so the peak is what the machine
had to hold at once (Linux only).

Usage::

    python benchmarks/peak_memory.py -- dbt build --vars '{movielens_path: /data/gen-1m}'
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: the ppid follows its ')'
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_rss(root: int) -> tuple[int, int]:
    """Bytes resident in ``root`` and all its descendants, and how many processes."""
    tree, total, count = _children(), 0, 0
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        total += resident
        count += 1
        pending.extend(tree.get(pid, []))
    return total, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    started = time.monotonic()
    process = subprocess.Popen(command)
    peak, peak_processes, peak_at = 0, 0, 0.0
    while process.poll() is None:
        resident, processes = tree_rss(process.pid)
        if resident > peak:
            peak, peak_processes, peak_at = resident, processes, time.monotonic() - started
        time.sleep(args.interval)
    seconds = time.monotonic() - started
    print(
        f"peak_memory: exit {process.returncode}, wall {seconds:.1f} s, peak RSS of the "
        f"process tree {peak / 2**30:.2f} GiB ({peak_processes} processes, at "
        f"{peak_at:.0f} s)",
        file=sys.stderr,
    )
    sys.exit(process.returncode)


if __name__ == "__main__":
    main()
