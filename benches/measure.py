"""Wall time and peak memory of one child process, for compare.py and apply_memory.py."""

import dataclasses
import statistics
import subprocess
import tempfile
import time

POLL_SECONDS = 0.001
GNU_TIME = "/usr/bin/time"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One run: wall seconds, peak RSS, and, when polled, peak RssAnon.

    Peak RSS counts everything resident, mapped input files and page cache of written output
    included. RssAnon counts only anonymous memory (heap, stacks): what the process allocated
    beyond the files it maps. It is polled from /proc/PID/status every POLL_SECONDS, so a
    spike shorter than that can be missed.
    """

    seconds: float
    rss_mib: float
    anon_mib: float | None = None


def run(cmd, poll_anon=False):
    """Runs cmd to completion and measures that process alone (not its parent or siblings).

    The peak RSS is the tool's ru_maxrss as GNU time reports it. Linux carries a process's
    peak RSS across fork and exec, so the tool is started from the small `time` process: a
    child forked straight from this Python process would report at least this process's RSS.
    Polling (poll_anon) costs this process a little CPU every millisecond, so timed runs
    should leave it off and take RssAnon from a separate run.
    """
    with tempfile.TemporaryFile() as stderr, tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [GNU_TIME, "-q", "-f", "%M", "-o", rss.name, *cmd], stdout=subprocess.DEVNULL, stderr=stderr
        )
        anon_kib = _poll_anon_kib(proc) if poll_anon else None
        code = proc.wait()
        seconds = time.perf_counter() - start
        if code != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {code}: {message}")
        rss_kib = int(rss.read().split()[-1])
    return Sample(seconds, rss_kib / 1024, None if anon_kib is None else anon_kib / 1024)


def _poll_anon_kib(proc):
    """Peak RssAnon in KiB of the tool that proc (GNU time) runs, until proc exits.

    None when the tool was never seen (it ended within a poll, or the kernel lacks
    /proc/PID/task/TID/children).
    """
    peak, tool = None, None
    while proc.poll() is None:
        tool = tool or _child_pid(proc.pid)
        if tool:
            peak = max(peak or 0, status_kib(tool, "RssAnon"))
        time.sleep(POLL_SECONDS)
    return peak


def _child_pid(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


def status_kib(pid, field):
    """A field of /proc/PID/status in KiB, or 0 if the process or field is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def summarize(samples):
    """Median seconds and the largest peaks over repeated runs of one command."""
    anons = [s.anon_mib for s in samples if s.anon_mib is not None]
    return Sample(
        statistics.median(s.seconds for s in samples),
        max(s.rss_mib for s in samples),
        max(anons) if anons else None,
    )
