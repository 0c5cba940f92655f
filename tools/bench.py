"""Benchmark the pipeline on an N-times copy of a raw folder (``make bench``).

    python tools/bench.py --raw-dir ../shared/corpus/raw --times 10 --out docs/benchmarks.md

1. Builds WORK/raw: ``--times`` copies of every file of RAW_DIR, copy k in ``cKK/``.
   Copy 0 is the files as they are; in copy k >= 1 every page is made a distinct page:
   the title line gets `` (copy k)`` appended and the ``Direct link: en.kremlin.ru/d/<id>``
   id becomes ``id + k * 10,000,000`` (``kremlin.ids.doc_id`` hashes the title, dates,
   time and publication date, so a new title is a new doc_id; a new id keeps
   ``kremlin_id`` unique).
2. Baseline: a plain single-process script (no orchestration, no cache, no checks)
   that decodes and parses every file with ``kremlin.parser.page.parse_page`` +
   ``kremlin.records.page_rows`` and writes the rows to Parquet.
3. The pipeline (``python -m flows.pipeline``, default local runner, as ``make
   pipeline``) three times into a fresh CURATED_DIR: cold (empty parse cache),
   unchanged (same inputs: nothing to publish), and with 1 % new files (a further copy
   of 1 % of the pages: only those are parsed, the rest comes from the parse cache).

Every measured command runs as a subprocess. Wall time; peak memory of the process
tree (the pipeline, its parse workers and its temporary Prefect server), sampled every
0.2 s from /proc as the sum of PSS (shared pages split between the processes that map
them) and as the largest single RSS (``ru_maxrss`` from ``os.wait4``); per-stage times
from the manifest (``timings_seconds``) and from the run's log timestamps (Prefect
start-up before the flow begins, teardown after it ends). Results go to ``--out`` as
Markdown with a description of the machine.

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
ID_OFFSET = 10_000_000
_DIRECT_LINK = re.compile(rb"^(\s*Direct link:\s*(?:https?://)?en\.kremlin\.ru/d/)(\d+)(\s*)$")
_BLANK = re.compile(rb"^[\s\xc2\xa0]*$")  # white space incl. UTF-8 NBSP


# ----------------------------------------------------------------------------- input


def distinct_copy(data: bytes, k: int) -> bytes:
    """The page as copy ``k``: new title (second non-blank line) and Direct link id."""
    if k == 0:
        return data
    lines = data.split(b"\n")
    nonblank = 0
    for i, line in enumerate(lines):
        if _BLANK.match(line):
            continue
        nonblank += 1
        if nonblank == 2:
            end = b"\r" if line.endswith(b"\r") else b""
            lines[i] = line[: len(line) - len(end)].rstrip() + f" (copy {k})".encode() + end
            break
    for i in range(len(lines) - 1, max(-1, len(lines) - 12), -1):
        if m := _DIRECT_LINK.match(lines[i]):
            lines[i] = m.group(1) + str(int(m.group(2)) + k * ID_OFFSET).encode() + m.group(3)
            break
    out = b"\n".join(lines)
    # A file without a title (a reject) must still be a new file.
    return out if out != data else data + b"\n" * k


def make_copies(src: Path, dest: Path, times: int, *, limit: int | None = None) -> tuple[int, int]:
    files = sorted(p for p in src.rglob("*") if p.is_file())[:limit]
    n = size = 0
    for k in range(times):
        sub = dest / f"c{k:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        for f in files:
            data = distinct_copy(f.read_bytes(), k)
            (sub / f.relative_to(src).as_posix().replace("/", "__")).write_bytes(data)
            n += 1
            size += len(data)
    return n, size


def add_new_files(
    src: Path, dest: Path, times: int, fraction: float, *, limit: int | None = None
) -> tuple[int, int]:
    """``fraction`` of the N-times input as new pages: copies ``times .. 2*times-1`` of every
    1/fraction-th source file (so 1 % of 10 copies is 10 new copies of 1 % of the pages)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())[:limit]
    step = max(1, round(1 / fraction))
    n = size = 0
    for k in range(times, 2 * times):
        sub = dest / f"c{k:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        for f in files[::step]:
            data = distinct_copy(f.read_bytes(), k)
            (sub / f.relative_to(src).as_posix().replace("/", "__")).write_bytes(data)
            n += 1
            size += len(data)
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


def measure(cmd: list[str], env: dict, log: Path, interval: float = 0.2) -> Measured:
    peak = {"pss": 0, "rss": 0}
    timeline: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                pss = rss = 0
                for p in _tree(proc.pid):
                    a, b = _mem_kb(p)
                    pss, rss = pss + a, rss + b
                peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
                timeline.append((time.time(), pss))
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


_SUMMARY_TIME = re.compile(r"│ time: (\w+)\s*│ ([\d.]+) s")
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
    out = {}
    span = (t_last - t_first).total_seconds()
    out["python start-up + imports (before first log line)"] = max(0.0, wall - span)  # includes exit
    if begin:
        out["Prefect temporary server start + flow-run creation"] = (begin - t_first).total_seconds()
    if begin and done:
        out["flow run (begin → Completed)"] = (done - begin).total_seconds()
    if done:
        out["after the flow (server stop, exit)"] = (t_last - done).total_seconds()
    return out


# ----------------------------------------------------------------------------- baseline


def baseline(raw_dir: Path, out_dir: Path) -> None:
    """Parse every file in one process, write the rows to Parquet (no cache, no checks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kremlin.decode import decode_page
    from kremlin.parser.page import parse_page
    from kremlin.records import page_rows
    from schemas.page import Reject

    docs, paras, utts = [], [], []
    rejected = 0
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        decoded = decode_page(path.read_bytes())
        page = decoded if isinstance(decoded, Reject) else parse_page(decoded.text)
        if isinstance(page, Reject):
            rejected += 1
            continue
        d, p, u = page_rows(page)
        docs.append({**d, "source_file": str(path)})
        paras.extend(p)
        utts.extend(u)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("documents", docs), ("paragraphs", paras), ("utterances", utts)):
        pq.write_table(pa.Table.from_pylist(rows), out_dir / f"{name}.parquet", compression="zstd")
    print(
        json.dumps(
            {"documents": len(docs), "paragraphs": len(paras), "utterances": len(utts), "rejected": rejected}
        )
    )


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


def render(ctx: dict) -> str:
    m = ctx["machine"]
    L = [
        "# Benchmarks",
        "",
        "Generated by `tools/bench.py` (`make bench`); rerun to refresh. Numbers are from one run on a",
        "shared machine (other jobs may have been running: see the load average), so treat them as ±10 %.",
        "",
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
        f"Input: `--times {ctx['times']}` copies of `{ctx['raw_dir']}` ({ctx['src_files']} files) → "
        f"**{ctx['files']} files, {ctx['mb']:.1f} MB** (every copy a distinct page, see `tools/bench.py`); "
        f"building the copy took {ctx['copy_seconds']:.1f} s. The 1 % run adds {ctx['new_files']} new pages "
        f"({ctx['new_mb']:.2f} MB).",
        "",
        "## Results",
        "",
        "| run | files | wall s | pages/s | MB/s | peak tree PSS MB | peak tree RSS MB | largest process RSS MB | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ctx["rows"]:
        L.append(
            f"| {r['name']} | {r['files']} | {r['wall']:.1f} | {r['files'] / r['wall']:.0f} | "
            f"{r['mb'] / r['wall']:.2f} | {_fmt(r['pss'], 0)} | {_fmt(r['rss'], 0)} | {_fmt(r['single'], 0)} | {r['result']} |"
        )
    L += [
        "",
        "pages/s and MB/s are over the whole input of the run (files seen), wall time of the whole",
        "command including Python start-up and, for the pipeline, its temporary Prefect server.",
        "Peak tree PSS sums the proportional set size of the process and all its descendants (parse",
        "workers, the temporary Prefect server), sampled every 0.2 s; tree RSS counts shared pages once",
        "per process, so it overstates; the last column is `ru_maxrss` from `os.wait4` (largest single process).",
        "",
        "## Time per stage",
        "",
        "Pipeline stages (ingest … publish) from the run summary the flow prints (`stage_seconds`; the",
        "manifest's `timings_seconds` has the same minus publish); the other rows from the run's log",
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
            L.append(f"| {k} | {v:.1f} | {_fmt(peaks.get(k, float('nan')), 0)} |")
        for k, v in (r.get("phases") or {}).items():
            L.append(f"| {k} | {v:.1f} | |")
        L.append("")
    L += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in ctx["targets"]:
        L.append(f"| {t[0]} | {t[1]} | {'yes' if t[2] else '**no**'} |")
    L.append("")
    if ctx.get("notes"):
        L += ["## Notes", "", *ctx["notes"], ""]
    return "\n".join(L)


# ----------------------------------------------------------------------------- main


def _pipeline_run(name: str, work: Path, env: dict, args, files: int, mb: float) -> dict:
    cmd = [sys.executable, "-m", "flows.pipeline", "--raw-dir", str(work / "raw"),
           "--curated-dir", str(work / "curated"), "--no-progress"]  # fmt: skip
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    print(f"[bench] {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    before = _latest(work / "curated")
    m = measure(cmd, env, work / f"{name.split()[0]}.log")
    if m.returncode != 0:
        raise SystemExit(f"{name} failed (exit {m.returncode}); log: {work / (name.split()[0] + '.log')}")
    after = _latest(work / "curated")
    stages: dict = {}
    result = "unchanged"
    if after and after != before:
        manifest = json.loads((work / "curated" / "versions" / after / "manifest.json").read_text())
        # The summary table has every stage; the manifest's timings stop before publish.
        stages = {k: float(v) for k, v in _SUMMARY_TIME.findall(m.output) if k != "total"}
        stages = stages or manifest.get("timings_seconds", {})
        lin = manifest.get("lineage", {})
        result = (
            f"published {after}: {lin.get('files_parsed_this_run')} parsed, "
            f"{lin.get('files_from_cache')} from cache; {json.dumps(lin.get('by_status'))}"
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/bench.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw-dir", default="../shared/corpus/raw", help="source raw folder to copy")
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
    ap.add_argument("--new-fraction", type=float, default=0.01, help="share of new files for the third run")
    ap.add_argument("--baseline-only", metavar="RAW", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-out", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline_only:
        baseline(Path(args.baseline_only), Path(args.baseline_out))
        return 0

    src = Path(args.raw_dir)
    if not src.is_dir():
        print(f"error: --raw-dir {src} is not a directory", file=sys.stderr)
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
        "rows": [],
        "notes": [],
    }
    try:
        t0 = time.perf_counter()
        src_files = len(sorted(p for p in src.rglob("*") if p.is_file())[: args.limit])
        files, size = make_copies(src, work / "raw", args.times, limit=args.limit)
        ctx.update(src_files=src_files, files=files, mb=size / 1e6, copy_seconds=time.perf_counter() - t0)
        print(f"[bench] {files} files, {size / 1e6:.1f} MB in {work / 'raw'}", file=sys.stderr, flush=True)

        # Baseline: one process, parse + Parquet.
        cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-only", str(work / "raw"),
               "--baseline-out", str(work / "baseline")]  # fmt: skip
        print("[bench] baseline ...", file=sys.stderr, flush=True)
        b = measure(cmd, env, work / "baseline.log")
        if b.returncode != 0:
            raise SystemExit(f"baseline failed: {b.output[-2000:]}")
        counts = json.loads(b.output.strip().splitlines()[-1])
        ctx["rows"].append({
            "name": "baseline (1 process: parse_page + page_rows → Parquet)", "files": files, "mb": size / 1e6,
            "wall": b.wall, "pss": b.peak_tree_pss_mb, "rss": b.peak_tree_rss_mb, "single": b.max_single_rss_mb,
            "result": json.dumps(counts),
        })  # fmt: skip
        print(f"[bench] baseline: {b.wall:.1f} s {counts}", file=sys.stderr, flush=True)

        cold = _pipeline_run("cold pipeline (empty cache)", work, env, args, files, size / 1e6)
        unchanged = _pipeline_run("unchanged rerun", work, env, args, files, size / 1e6)
        n_new, new_size = add_new_files(src, work / "raw", args.times, args.new_fraction, limit=args.limit)
        ctx.update(new_files=n_new, new_mb=new_size / 1e6)
        inc = _pipeline_run(
            f"1% new ({n_new} new files)", work, env, args, files + n_new, (size + new_size) / 1e6
        )
        ctx["rows"] += [cold, unchanged, inc]

        peak = max(r["pss"] for r in (cold, unchanged, inc))
        ratio = cold["wall"] / b.wall
        ctx["targets"] = [
            (
                "cold run ≤ 1.5 × baseline",
                f"{cold['wall']:.1f} s = {ratio:.2f} × {b.wall:.1f} s",
                ratio <= 1.5,
            ),
            ("peak memory < 1 GB (tree PSS)", f"{peak:.0f} MB", peak < 1024),
            ("unchanged rerun < 20 s", f"{unchanged['wall']:.1f} s", unchanged["wall"] < 20),
        ]
    finally:
        if not args.keep_work and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep_work or args.work_dir:
            print(f"[bench] work dir kept: {work}", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(ctx), encoding="utf-8")
    print(f"[bench] wrote {args.out}", file=sys.stderr)
    for t in ctx["targets"]:
        print(f"  {t[0]}: {t[1]} -> {'met' if t[2] else 'MISSED'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
