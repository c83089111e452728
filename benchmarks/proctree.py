"""A process and its descendants, for the benchmarks' memory samplers."""

from __future__ import annotations

from pathlib import Path


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, from the kernel's per-thread children lists (cheap:
    no scan of all of /proc, which took CPU from the run being measured)."""
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                stack.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError):
                continue
    return out
