"""Benchmark the pipeline on an N-times copy of a raw folder (``make bench``): issue 11's table.

    python tools/bench.py --raw-dir ../shared/corpus/raw --times 10 --out docs/benchmarks.md

1. Builds WORK/raw with ``../shared/tools/scale_corpus.py --times N`` (copy k of every page
   gets its own title suffix, file name and Direct link id, so every file is a distinct page).
2. Reference: ``../shared/tools/plain_script.py --raw WORK/raw --out WORK/plain``, the plain
   one-process script a user would write instead (every ratio below is to this run).
3. The pipeline (``python -m flows.pipeline``, default local runner, as ``make pipeline``)
   three times into a fresh CURATED_DIR: cold (empty parse cache), unchanged (same inputs:
   nothing to publish), and +1 % new pages: every 100th file of WORK/raw once more as a new
   distinct page (copy ``N + k`` of the page that file is copy ``k`` of, made by
   scale_corpus.py itself), so 617 new pages at 10x.
4. Parse speed per core (``tools/parse_speed.py`` over RAW_DIR, CPU time), when present.

Every measured command runs as a subprocess. Wall time; peak memory of the process
tree (the pipeline, its parse workers and its temporary Prefect server), sampled every
0.2 s from /proc as the sum of PSS (shared pages split between the processes that map
them) and as the largest single RSS (``ru_maxrss`` from ``os.wait4``); per-stage times
from the run summary and the manifest's ``timings_seconds`` (build steps as
``normalise:<step>``, quality suites as ``check:<suite>``, publish steps and each
edition as ``publish:<step>`` / ``publish:edition:<name>``) and from the run's log
timestamps (Prefect start-up before the flow begins, teardown after it ends). Results go
to ``--out`` as Markdown with a description of the machine.

The measured commands import ``kremlin``/``schemas``/``flows`` from a copy taken at the
start (``PYTHONPATH=WORK/code``), so that edits to the tree during the benchmark do not
change the code fingerprint between the runs (``--live-code`` to disable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_TOOLS = ROOT / ".." / "shared" / "tools"


# ----------------------------------------------------------------------------- input


def _source_files(src: Path, limit: int | None) -> list[Path]:
    # scale_corpus.py reads the *.txt files at the top of --raw.
    return sorted(p for p in src.iterdir() if p.is_file() and p.name.endswith(".txt"))[:limit]


def _scale(src_files: list[Path], times: int, out: Path, scratch: Path) -> None:
    """``scale_corpus.py --times`` over exactly ``src_files`` (linked into a scratch folder)."""
    raw = scratch / "src"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    for f in src_files:
        os.symlink(f.resolve(), raw / f.name)
    subprocess.run(
        [sys.executable, str(SHARED_TOOLS / "scale_corpus.py"), "--raw", str(raw), "--times", str(times),
         "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    shutil.rmtree(raw)


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def make_copies(
    src: Path, dest: Path, times: int, scratch: Path, *, limit: int | None = None
) -> tuple[int, int]:
    _scale(_source_files(src, limit), times, dest, scratch)
    return _folder_size(dest)


def add_new_pages(
    src: Path, dest: Path, times: int, fraction: float, scratch: Path, *, limit: int | None = None
) -> tuple[int, int]:
    """``fraction`` of the files of ``dest`` once more as new distinct pages.

    File ``KK_<name>`` of ``dest`` is copy KK of source ``<name>``; its new page is copy
    ``times + KK`` of the same source, made by scale_corpus.py (run with ``2 * times``
    copies of the chosen sources, of which only those copies are kept), so the new pages
    differ from every existing one exactly as the copies of the N-times folder do.
    """
    existing = sorted(p.name for p in dest.iterdir() if p.is_file())
    step = max(1, round(1 / fraction))
    chosen = [(int(k), name) for k, name in (n.split("_", 1) for n in existing[::step])]
    sources = {f.name: f for f in _source_files(src, limit)}
    out = scratch / "new"
    shutil.rmtree(out, ignore_errors=True)
    _scale([sources[n] for n in sorted({n for _, n in chosen})], 2 * times, out, scratch)
    n = size = 0
    for k, name in chosen:
        made = out / f"{times + k:02d}_{name}"
        size += made.stat().st_size
        made.rename(dest / made.name)
        n += 1
    shutil.rmtree(out)
    return n, size


# ----------------------------------------------------------------------------- measuring


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in kB, 0 if it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


@dataclass
class Measured:
    wall: float
    returncode: int
    peak_tree_pss_mb: float
    peak_tree_rss_mb: float
    max_single_rss_mb: float
    output: str = ""
    timeline: list = field(default_factory=list)  # (unix time, tree PSS kB)


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PSS_INTERVAL = 1.0
"""Seconds between PSS samples. Reading PSS (smaps_rollup) walks a process's page tables:
18 ms for a 900 MB process, so at 5 Hz over the pipeline's tree the sampler took about a
quarter of a core from the run it measured (+1 % run at 10x: 28.8 s with PSS every 0.2 s,
27.1 s every 2 s, two runs each). RSS (statm, no walk) is still read every 0.2 s."""


def _rss_kb(pid: int) -> int:
    """RSS of one process in kB from /proc/<pid>/statm (cheap), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0


def measure(cmd: list[str], env: dict, log: Path, interval: float = 0.2, cwd: Path = ROOT) -> Measured:
    peak = {"pss": 0, "rss": 0}
    timeline: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        stop = threading.Event()

        def sample():
            pss_due = 0.0
            while not stop.is_set():
                tree = _tree(proc.pid)
                peak["rss"] = max(peak["rss"], sum(_rss_kb(p) for p in tree))
                if time.monotonic() >= pss_due:
                    pss = sum(_mem_kb(p)[0] for p in tree)
                    peak["pss"] = max(peak["pss"], pss)
                    timeline.append((time.time(), pss))
                    pss_due = time.monotonic() + PSS_INTERVAL
                stop.wait(interval)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        # wait4: the resource usage of this child and the descendants it waited for;
        # ru_maxrss (kB) is the largest of them (a process, not their sum).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
    return Measured(
        wall,
        rc,
        peak["pss"] / 1024,
        peak["rss"] / 1024,
        usage.ru_maxrss / 1024,
        log.read_text(errors="replace"),
        timeline,
    )


_TS = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| \w+\s*\| (.*)$")


_TASK_DONE = re.compile(r"Task run '(?P<stage>[a-z]+(?:-[a-z]+)?)-[0-9a-f]{3}' - Finished in state")


def stage_peaks(output: str, timeline: list[tuple[float, int]], day: dt.date) -> dict[str, float]:
    """Peak tree PSS (MB) during each stage, from the log's task-run end times.

    A stage runs from the end of the previous one (or the flow's start) to the end of its
    task run, as the flow runs them one after the other.
    """
    marks: list[tuple[float, str]] = []
    for line in output.splitlines():
        m = _TS.match(line)
        if not m:
            continue
        t = dt.datetime.combine(day, dt.time.fromisoformat(m.group(1))).timestamp()
        if "Beginning flow run" in m.group(2):
            marks.append((t, "<start>"))
        elif (d := _TASK_DONE.search(m.group(2))) and d.group("stage") != "parse-batch":
            marks.append((t, d.group("stage")))
        elif "parse-batch" in m.group(2) and "Finished in state" in m.group(2):
            marks = [x for x in marks if x[1] != "parse"] + [(t, "parse")]
    marks.sort()
    out: dict[str, float] = {}
    for (t0, _), (t1, name) in zip(marks, marks[1:], strict=False):
        vals = [kb for t, kb in timeline if t0 <= t <= t1]
        if vals:
            out[name] = max(out.get(name, 0.0), max(vals) / 1024)
    return out


def log_phases(output: str, wall: float) -> dict[str, float]:
    """Seconds before the flow run begins and after it finishes, from the log timestamps.

    The first timestamped line comes after Python start-up and imports; those seconds
    are estimated as (wall - last timestamp + first timestamp) minus the teardown.
    """
    stamps = []
    for line in output.splitlines():
        if m := _TS.match(line):
            t = dt.datetime.strptime(m.group(1), "%H:%M:%S.%f")
            stamps.append((t, m.group(2)))
    if not stamps:
        return {}

    def first(pred):
        return next((t for t, msg in stamps if pred(msg)), None)

    t_first = stamps[0][0]
    t_last = stamps[-1][0]
    begin = first(lambda m: "Beginning flow run" in m)
    done = next(
        (t for t, m in reversed(stamps) if m.startswith("Flow run") and "Finished in state" in m), None
    )
    # flows.runners logs when the temporary server (launched when the command starts, in
    # parallel with all that comes before the first log line) answers.
    ready = first(lambda m: "Temporary server ready" in m)
    out = {}
    span = (t_last - t_first).total_seconds()
    # includes exit
    out["python start-up, imports, precheck (before the first log line)"] = max(0.0, wall - span)
    if begin and ready:
        out["waiting for the temporary server (first log line → server ready)"] = (
            ready - t_first
        ).total_seconds()
        out["flow-run creation (server ready → flow begins)"] = (begin - ready).total_seconds()
    elif begin:
        out["Prefect temporary server start + flow-run creation"] = (begin - t_first).total_seconds()
    if begin and done:
        out["flow run (begin → Completed)"] = (done - begin).total_seconds()
    if done:
        out["after the flow (server stop, exit)"] = (t_last - done).total_seconds()
    return out


# ----------------------------------------------------------------------------- report


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores visible (os.cpu_count), load average at start {os.getloadavg()[0]:.2f}",
        "RAM": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "versions": ", ".join(
            f"{p} {_version(p)}"
            for p in (
                "prefect",
                "prefect-dask",
                "distributed",
                "duckdb",
                "pyarrow",
                "pydantic",
                "great-expectations",
            )
        ),
    }


def _fmt(x: float, nd: int = 1) -> str:
    return "–" if x != x else f"{x:.{nd}f}"


def _ratio(r: dict, ref: dict | None) -> str:
    return f"{r['wall'] / ref['wall']:.2f}×" if ref and ref["wall"] else "–"


def render(ctx: dict) -> str:
    m = ctx["machine"]
    ref = ctx.get("reference")
    L = [
        "# Benchmarks",
        "",
        "Generated by `tools/bench.py` (`make bench`); rerun to refresh. Numbers are from one run on a",
        "shared machine (other jobs may have been running: see the load average), so treat them as ±10 %.",
        *([f"**{ctx['banner']}**", ""] if ctx.get("banner") else [""]),
        "## Machine",
        "",
        *[f"- **{k}**: {v}" for k, v in m.items()],
        f"- **date**: {ctx['date']}",
        f"- **git commit**: {ctx['commit']} (working tree may be dirty)",
        "",
        "## Command",
        "",
        "```",
        ctx["command"],
        "```",
        "",
        f"Input: `../shared/tools/scale_corpus.py --times {ctx['times']}` over `{ctx['raw_dir']}` "
        f"({ctx['src_files']} files) → **{ctx['files']} files, {ctx['mb']:.1f} MB**; building it took "
        f"{ctx['copy_seconds']:.1f} s. The +1 % run adds {ctx.get('new_files', 0)} new distinct pages "
        f"({ctx.get('new_mb', 0):.2f} MB).",
        "",
        "## Results (issue 11's table, one run)",
        "",
        "| run | files | wall s | × plain script | pages/s | peak tree PSS MB | peak tree RSS MB | largest process RSS MB | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ctx["rows"]:
        L.append(
            f"| {r['name']} | {r['files']} | {r['wall']:.1f} | {_ratio(r, ref)} | {r['files'] / r['wall']:.0f} | "
            f"{_fmt(r['pss'], 0)} | {_fmt(r['rss'], 0)} | {_fmt(r['single'], 0)} | {r['result']} |"
        )
    L += [
        "",
        "Wall time of the whole command including Python start-up and, for the pipeline, its",
        "temporary Prefect server; pages/s over the files the run sees. Peak tree PSS sums the",
        "proportional set size of the process and all its descendants (parse workers, the Prefect",
        "server), sampled every second (reading it walks each process's page tables, which at",
        "5 Hz cost the measured run ~1.7 s of a +1 % run); tree RSS, sampled every 0.2 s, counts",
        "shared pages once per process, so it overstates; the largest process is `ru_maxrss`",
        "from `os.wait4`.",
        "",
    ]
    if ctx.get("parse_speed"):
        L += ["## Parse speed per core", "", "`tools/parse_speed.py` over the source folder:", "", "```",
              ctx["parse_speed"].rstrip(), "```", ""]  # fmt: skip
        ref = ctx.get("reference")
        plain = plain_parse_rate(ref["result"], ref["files"]) if ref else None
        if plain is not None:
            L += [
                f"Beside it, the plain script of this run (one process): its parse phase "
                f"{plain:,.0f} pages/s, its whole run {ref['files'] / ref['wall']:,.0f} pages/s. "
                f"Issue 9's bar for `parse_file` is {PARSE_BAR:,} pages/s per core.",
                "",
            ]
    L += [
        "## Time per stage",
        "",
        "Pipeline stages from the run summary the flow prints and the manifest's `timings_seconds`",
        "(`normalise:<step>`, `check:<suite>` and `publish:<step>` are the parts of those stages, see",
        "docs/incremental.md); the rows in italics come from the run's log",
        "timestamps. An unchanged run stops after planning, so it has no stage rows. Peak memory per",
        "stage: the highest tree PSS sample between the end of the previous stage and the end of this one.",
        "",
    ]
    for r in ctx["rows"]:
        if not r.get("stages") and not r.get("phases"):
            continue
        peaks = r.get("stage_peaks") or {}
        L += [f"**{r['name']}**", "", "| stage | seconds | peak tree PSS MB |", "|---|---:|---:|"]
        for k, v in (r.get("stages") or {}).items():
            if not k.startswith(_EDITION):
                L.append(f"| {k} | {v:.1f} | {_fmt(peaks.get(k, float('nan')), 0)} |")
        for k, v in (r.get("phases") or {}).items():
            L.append(f"| *{k}* | {v:.1f} | |")
        L.append("")
    editions = [(r["name"], k[len(_EDITION) :], v) for r in ctx["rows"] for k, v in (r.get("stages") or {}).items()
                if k.startswith(_EDITION)]  # fmt: skip
    if editions:
        L += ["## Editions", "", "Seconds each edition took inside publish (`timings_seconds`).", "",
              "| run | edition | seconds |", "|---|---|---:|"]  # fmt: skip
        L += [f"| {run} | {name} | {v:.2f} |" for run, name, v in editions]
        L.append("")
    L += ["## Targets (issue 11)", "", "| target | measured | met |", "|---|---|---|"]
    for t in ctx["targets"]:
        L.append(f"| {t[0]} | {t[1]} | {'yes' if t[2] else '**no**'} |")
    L.append("")
    if ctx.get("notes"):
        L += ["## Notes", "", *ctx["notes"], ""]
    return "\n".join(L)


# ----------------------------------------------------------------------------- main

_EDITION = "publish:edition:"
_SUMMARY_TIME_ANY = re.compile(r"│ time: (\S+)\s*│ ([\d.]+) s")


def _stages(output: str, manifest: dict) -> dict[str, float]:
    """Stage seconds: the flow's summary table, completed by the manifest's finer entries."""
    stages = {k: float(v) for k, v in _SUMMARY_TIME_ANY.findall(output) if k != "total"}
    for k, v in (manifest.get("timings_seconds") or {}).items():
        if isinstance(v, int | float):
            stages.setdefault(k, float(v))
    return stages


def _pipeline_run(name: str, work: Path, env: dict, args, files: int, mb: float) -> dict:
    cmd = [sys.executable, "-m", "flows.pipeline", "--raw-dir", str(work / "raw"),
           "--curated-dir", str(work / "curated"), "--no-progress"]  # fmt: skip
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    print(f"[bench] {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    before = _latest(work / "curated")
    log = work / f"{name.split()[0]}.log"
    # `python -m` puts the working directory first on sys.path, before PYTHONPATH: run from
    # the frozen copy, or the live tree would be imported after all.
    m = measure(cmd, env, log, cwd=ROOT if args.live_code else work / "code")
    if m.returncode != 0:
        raise SystemExit(f"{name} failed (exit {m.returncode}); log: {log}")
    after = _latest(work / "curated")
    stages: dict = {}
    result = "unchanged"
    if after and after != before:
        manifest = json.loads((work / "curated" / "versions" / after / "manifest.json").read_text())
        stages = _stages(m.output, manifest)
        lin = manifest.get("lineage", {})
        build = manifest.get("build") or {}
        result = (
            f"published {after}: {lin.get('files_parsed_this_run')} parsed, "
            f"{lin.get('files_from_cache')} from cache; {json.dumps(lin.get('by_status'))}"
            + (f"; build {json.dumps(build)}" if build else "")
        )
    row = {
        "name": name,
        "files": files,
        "mb": mb,
        "wall": m.wall,
        "pss": m.peak_tree_pss_mb,
        "rss": m.peak_tree_rss_mb,
        "single": m.max_single_rss_mb,
        "result": result,
        "stages": stages,
        "phases": log_phases(m.output, m.wall),
        "stage_peaks": stage_peaks(m.output, m.timeline, dt.datetime.now().date()),
    }
    print(
        f"[bench] {name}: {m.wall:.1f} s, peak PSS {m.peak_tree_pss_mb:.0f} MB; {result}",
        file=sys.stderr,
        flush=True,
    )
    return row


def _latest(curated: Path) -> str | None:
    try:
        return Path(os.readlink(curated / "latest")).name
    except OSError:
        return None


def _reference_run(work: Path, env: dict, files: int, mb: float) -> dict:
    script = SHARED_TOOLS / "plain_script.py"
    cmd = [sys.executable, str(script), "--raw", str(work / "raw"), "--out", str(work / "plain")]
    print("[bench] plain script ...", file=sys.stderr, flush=True)
    m = measure(cmd, env, work / "plain.log")
    if m.returncode != 0:
        raise SystemExit(f"plain script failed: {m.output[-2000:]}")
    print(f"[bench] plain script: {m.wall:.1f} s", file=sys.stderr, flush=True)
    return {"name": "plain script (`../shared/tools/plain_script.py`, reference)", "files": files, "mb": mb,
            "wall": m.wall, "pss": m.peak_tree_pss_mb, "rss": m.peak_tree_rss_mb, "single": m.max_single_rss_mb,
            "result": (m.output.strip().splitlines() or [""])[-1][:200]}  # fmt: skip


PARSE_BAR = 2000  # pages/s per core for parse + validated rows (issue 9)
_PLAIN_PARSE = re.compile(r"\bparse (\d+(?:\.\d+)?)s\b")


def plain_parse_rate(result: str, files: int) -> float | None:
    """Pages/s of the plain script's parse phase, from its summary line (`…; parse 16.1s,
    total 25.3s -> …`), or None when the line does not say."""
    m = _PLAIN_PARSE.search(result)
    if m is None or float(m.group(1)) <= 0:
        return None
    return files / float(m.group(1))


def _parse_speed(src: Path, env: dict) -> str | None:
    tool = ROOT / "tools" / "parse_speed.py"
    if not tool.is_file():
        return None
    out = subprocess.run([sys.executable, str(tool), str(src), "--repeat", "2"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)  # fmt: skip
    return out.stdout if out.returncode == 0 else f"parse_speed.py failed: {out.stderr[-500:]}"


def targets(ref: dict, cold: dict, unchanged: dict, inc: dict) -> list[tuple[str, str, bool]]:
    """Issue 11's bars, from one run."""
    ratio = cold["wall"] / ref["wall"]
    runs = (cold, unchanged, inc)
    single = max(r["single"] for r in runs)
    tree = max(r["pss"] for r in runs)
    return [
        (
            "cold run ≤ 1.5 × plain script",
            f"{cold['wall']:.1f} s = {ratio:.2f} × {ref['wall']:.1f} s",
            ratio <= 1.5,
        ),
        ("largest process peak RSS ≤ 1 GB", f"{single:.0f} MB", single <= 1024),
        ("whole process tree ≤ 1.5 GB (peak PSS)", f"{tree:.0f} MB", tree <= 1536),
        ("unchanged rerun ≤ 10 s", f"{unchanged['wall']:.1f} s", unchanged["wall"] <= 10),
        ("+1 % new pages ≤ 30 s", f"{inc['wall']:.1f} s", inc["wall"] <= 30),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/bench.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw-dir", default="../shared/corpus/raw", help="source raw folder to scale")
    ap.add_argument("--times", type=int, default=10, help="copies of the raw folder (default: 10)")
    ap.add_argument(
        "--out", default="docs/benchmarks.md", help="Markdown report (default: docs/benchmarks.md)"
    )
    ap.add_argument(
        "--work-dir", default=None, help="where to build the copy and CURATED_DIR (default: a temp dir)"
    )
    ap.add_argument("--keep-work", action="store_true", help="keep the work dir (logs, curated output)")
    ap.add_argument("--workers", type=int, default=0, help="--workers of the pipeline (default: all cores)")
    ap.add_argument(
        "--limit", type=int, default=None, help="only the first LIMIT files of RAW_DIR (smoke test)"
    )
    ap.add_argument(
        "--live-code",
        action="store_true",
        help="run the code of the tree as it is at each run (default: a frozen copy, see below)",
    )
    ap.add_argument("--new-fraction", type=float, default=0.01, help="share of new pages for the third run")
    ap.add_argument("--no-parse-speed", action="store_true", help="skip tools/parse_speed.py")
    ap.add_argument(
        "--banner", default=None, help="a line printed at the top of the report (e.g. 'smoke run')"
    )
    args = ap.parse_args(argv)  # fmt: skip

    src = Path(args.raw_dir)
    if not src.is_dir():
        print(f"error: --raw-dir {src} is not a directory", file=sys.stderr)
        return 2
    if not (SHARED_TOOLS / "scale_corpus.py").is_file() or not (SHARED_TOOLS / "plain_script.py").is_file():
        print(f"error: {SHARED_TOOLS} lacks scale_corpus.py / plain_script.py", file=sys.stderr)
        return 2
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="kremlin-bench-"))
    if (work / "raw").exists() or (work / "curated").exists():
        print(f"error: {work} already holds raw/ or curated/; use an empty --work-dir", file=sys.stderr)
        return 2
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # measure what `make pipeline` does: a temporary server per run
    if not args.live_code:
        # Run a frozen copy of the code: an edit in the tree during the benchmark would change
        # the code fingerprint, so the "unchanged" run would rebuild and the cache would miss.
        for pkg in ("kremlin", "schemas", "flows"):
            shutil.copytree(ROOT / pkg, work / "code" / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work / "code"), env.get("PYTHONPATH")]))
    env.update(
        PREFECT_HOME=str(work / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    ctx: dict = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": (
            subprocess.run(
                ["git", "--no-optional-locks", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            or "?"
        ),  # fmt: skip
        "command": "make bench  # = " + " ".join(["python", "tools/bench.py", *(argv or sys.argv[1:])]),
        "times": args.times,
        "raw_dir": args.raw_dir,
        "banner": args.banner,
        "rows": [],
        "notes": [],
        "targets": [],
    }
    try:
        t0 = time.perf_counter()
        ctx["src_files"] = len(_source_files(src, args.limit))
        files, size = make_copies(src, work / "raw", args.times, work / "scratch", limit=args.limit)
        ctx.update(files=files, mb=size / 1e6, copy_seconds=time.perf_counter() - t0)
        print(f"[bench] {files} files, {size / 1e6:.1f} MB in {work / 'raw'}", file=sys.stderr, flush=True)

        ref = _reference_run(work, env, files, size / 1e6)
        ctx["reference"] = ref
        cold = _pipeline_run("cold pipeline (empty cache)", work, env, args, files, size / 1e6)
        unchanged = _pipeline_run("unchanged rerun", work, env, args, files, size / 1e6)
        n_new, new_size = add_new_pages(
            src, work / "raw", args.times, args.new_fraction, work / "scratch", limit=args.limit
        )
        ctx.update(new_files=n_new, new_mb=new_size / 1e6)
        inc = _pipeline_run(f"+1% new pages ({n_new} new files)", work, env, args, files + n_new,
                            (size + new_size) / 1e6)  # fmt: skip
        ctx["rows"] += [ref, cold, unchanged, inc]
        ctx["targets"] = targets(ref, cold, unchanged, inc)
        if not args.no_parse_speed:
            ctx["parse_speed"] = _parse_speed(src, env)
    finally:
        if not args.keep_work and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"[bench] work dir kept: {work}", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(ctx), encoding="utf-8")
    print(f"[bench] wrote {args.out}", file=sys.stderr)
    for t in ctx["targets"]:
        print(f"  {t[0]}: {t[1]} -> {'met' if t[2] else 'MISSED'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
