"""The scan's progress bar: on a terminal only (stderr), never in a pipe or a file."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def scan_progress_bar(quiet: bool):
    """A callback for scan_files(progress=...) drawing bytes, files, rate and matches so far; None when
    quiet or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm   # only for a person watching a terminal: kept off the start-up path
    bars = []

    def update(progress) -> None:
        status = f"{progress.files_done}/{progress.files_total} files, {progress.matches} matches"
        if not bars:
            sized = _width() > 0   # a terminal that does not say its size gets 100 columns
            bars.append(tqdm(total=progress.bytes_total or None, unit="B", unit_scale=True, unit_divisor=1024,
                             desc="scan", postfix=status, file=sys.stderr, leave=False, dynamic_ncols=sized,
                             ncols=None if sized else 100, nrows=None if sized else 24, mininterval=0.2))
        bar = bars[0]
        bar.set_postfix_str(status, refresh=False)
        bar.update(progress.bytes_done - bar.n)

    try:
        yield update
    finally:
        for bar in bars:
            bar.refresh()   # the last figures, however fast they came
            bar.close()


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 0
