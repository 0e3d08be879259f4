"""Running a command and measuring it as /usr/bin/time -v does: wall seconds, CPU seconds of
it and its children, and the peak resident memory of its largest process.

The command is started by a small launcher process, not by the benchmark itself: Linux
records the memory of the process a child was forked from into the child's peak (exec keeps
the larger of the two), so a command started straight from a benchmark that has just held a
large round in memory would report the benchmark's size as its own."""
from __future__ import annotations

import compileall
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


@functools.cache
def _compiled() -> None:
    """agrade's modules, and the vectorized baseline's, compiled to bytecode once, as `pip
    install` leaves a package: with PYTHONDONTWRITEBYTECODE set (as on the development machine)
    every measured command would otherwise compile them from source again, about 0.2 CPU-s a
    run that no installed copy spends."""
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "evaluator", here / "vectorized"):
        compileall.compile_dir(folder, quiet=1)


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
                 stdout=None) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS in KB) of `cmd`; raises SystemExit if it fails."""
    _compiled()
    fd, report = tempfile.mkstemp(prefix="agrade-measure-")
    os.close(fd)
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, report, *cmd], cwd=cwd, env=env, stdout=stdout,
                       check=True)
        wall = time.perf_counter() - t
        code, cpu, rss = Path(report).read_text().split()
    finally:
        os.unlink(report)
    if int(code) != 0:
        raise SystemExit(f"failed ({code}): {' '.join(map(str, cmd))}")
    return wall, float(cpu), int(rss)
