"""Serve the daily run as a Prefect deployment with a daily schedule (``make serve``).

``python -m flows.serve`` registers the deployment ``kremlin-daily/daily`` (cron
``0 3 * * *``, UTC by default) of the flow ``kremlin-daily`` (:mod:`flows.daily`):
fetch new pages from the site into RAW_DIR, then publish from RAW_DIR into CURATED_DIR.
Its parameters are RAW_DIR and CURATED_DIR (made absolute), the site and the fetch
delay. A Prefect runner in this process executes its runs, scheduled or
triggered by hand (UI, ``prefect deployment run kremlin-daily/daily``, or
``prefect.deployments.run_deployment``). Runs of the deployment execute in a
subprocess of this one, one at a time (``--limit``); two runs on one CURATED_DIR are
serialised by its lock anyway.

A schedule needs a *persistent* Prefect server (the temporary one a plain ``python -m
flows.pipeline`` starts lives only as long as its run). If ``PREFECT_API_URL`` is set,
that server is used. Otherwise this command starts ``prefect server start`` on
127.0.0.1 (SQLite database under ``PREFECT_HOME``, ``.prefect/`` with ``make``) for as
long as it serves, and stops it on exit (Ctrl-C or SIGTERM). The UI is then at
http://127.0.0.1:<port>.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

DEPLOYMENT_NAME = "daily"
DEFAULT_CRON = "0 3 * * *"
DEFAULT_PORT = 4200


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_healthy(api_url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll ``<api_url>/health`` until it answers 200; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with status {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Prefect server at {api_url} not healthy after {timeout:g} s")
        time.sleep(0.2)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; always reaps."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


@contextlib.contextmanager
def local_prefect_server(
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    prefect_home: str | None = None,
    ui: bool = True,
    timeout: float = 90.0,
    log_file: Path | None = None,
) -> Iterator[str]:
    """``prefect server start`` (SQLite under PREFECT_HOME) for the block; yields the API URL.

    The server is a child process; it is terminated (then killed) when the block exits,
    whatever the reason.
    """
    port = port or free_port(host)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if prefect_home:
        env["PREFECT_HOME"] = prefect_home
    if "PREFECT_HOME" in env:
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", host, "--port", str(port), "--analytics-off", "--ui" if ui else "--no-ui",
    ]  # fmt: skip
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT if log_file else None)
    api_url = f"http://{host}:{port}/api"
    try:
        wait_healthy(api_url, timeout, proc)
        yield api_url
    finally:
        stop_process(proc)
        if log_file:
            out.close()


@contextlib.contextmanager
def prefect_api(args: argparse.Namespace) -> Iterator[str]:
    """The configured Prefect API, or a local server started for as long as we serve."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:
        print(f"using the Prefect server at {configured} (PREFECT_API_URL)", file=sys.stderr)
        yield configured
        return
    port = args.port
    if port is None:
        port = DEFAULT_PORT if _port_free(args.host, DEFAULT_PORT) else free_port(args.host)
    home = os.environ.get("PREFECT_HOME", "~/.prefect")
    print(
        f"starting a Prefect server on http://{args.host}:{port} (SQLite under {home}) ...", file=sys.stderr
    )
    with local_prefect_server(args.host, port, ui=not args.no_ui) as url:
        os.environ["PREFECT_API_URL"] = url  # inherited by the flow-run subprocesses
        with temporary_settings(updates={PREFECT_API_URL: url}):
            print(f"Prefect server ready: UI http://{args.host}:{port}, API {url}", file=sys.stderr)
            yield url


def build_deployment(
    raw_dir: str,
    curated_dir: str,
    *,
    name: str = DEPLOYMENT_NAME,
    cron: str = DEFAULT_CRON,
    timezone: str = "UTC",
    keep: int = 10,
    paused: bool = False,
    site: str | None = None,
    fetch_pages: int | None = None,
    fetch_delay: float | None = None,
):
    """The ``RunnerDeployment`` of the daily flow: daily cron, absolute paths as parameters.

    Runs use the pipeline flow's own task runner (threads waiting on a process pool of
    all cores): a deployment loads ``flows.daily:daily`` afresh, so ``with_options`` (how
    ``--runner dask`` picks Dask on the command line) would not carry over.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.daily import daily
    from kremlin.fetch.http import MIN_DELAY
    from kremlin.fetch.site import DEFAULT_SITE

    site = site or DEFAULT_SITE
    return daily.to_deployment(
        name=name,
        schedule=Cron(cron, timezone=timezone),
        paused=paused,
        parameters={
            "raw_dir": str(Path(raw_dir).resolve()),
            "curated_dir": str(Path(curated_dir).resolve()),
            "keep": keep,
            "site": site,
            "fetch_pages": fetch_pages,
            "fetch_delay": MIN_DELAY if fetch_delay is None else fetch_delay,
        },
        description=(
            f"Fetch new pages from {site} into {raw_dir}, then publish a new dataset version "
            f"into {curated_dir} ({cron}, {timezone})."
        ),
        tags=["kremlin"],
        # Import the flow as a module in the run's subprocess, whatever its working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m flows.serve",
        description=(
            "Register the daily run (fetch new pages from the site into RAW_DIR, then publish) as the "
            "Prefect deployment kremlin-daily/NAME with a cron schedule and serve it: this process runs "
            "the deployment's runs (scheduled, or started with `prefect deployment run "
            "kremlin-daily/NAME` or from the UI) until interrupted. "
            "Uses the Prefect server of PREFECT_API_URL, or starts one on HOST:PORT (SQLite under "
            "PREFECT_HOME) and stops it on exit."
        ),
    )
    ap.add_argument("--raw-dir", default="raw", help="landing folder of raw page texts (default: raw)")
    ap.add_argument("--curated-dir", default="curated", help="output folder (default: curated)")
    ap.add_argument("--name", default=DEPLOYMENT_NAME, help=f"deployment name (default: {DEPLOYMENT_NAME})")
    ap.add_argument(
        "--cron", default=DEFAULT_CRON, help=f"cron schedule (default: '{DEFAULT_CRON}', daily 03:00)"
    )
    ap.add_argument("--timezone", default="UTC", help="IANA time zone of the schedule (default: UTC)")
    ap.add_argument("--keep", type=int, default=10, help="published versions to keep (default: 10)")
    ap.add_argument(
        "--site", default=None, help="site the daily fetch reads (default: https://en.kremlin.ru)"
    )
    ap.add_argument(
        "--fetch-pages",
        type=int,
        default=None,
        help="list pages the daily fetch reads at most (default: until it reaches ids already fetched)",
    )
    ap.add_argument(
        "--fetch-delay", type=float, default=None, help="seconds between the fetch's requests (default: 1)"
    )
    ap.add_argument("--paused", action="store_true", help="register the schedule paused (manual runs only)")
    ap.add_argument("--limit", type=int, default=1, help="runs this process executes at once (default: 1)")
    ap.add_argument(
        "--poll-seconds",
        type=float,
        default=None,
        help="how often to look for due runs (default: PREFECT_RUNNER_POLL_FREQUENCY, 10 s)",
    )
    ap.add_argument("--host", default="127.0.0.1", help="host of the local server, if one is started")
    ap.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port of the local server, if one is started (default: {DEFAULT_PORT}, or a free one)",
    )
    ap.add_argument("--no-ui", action="store_true", help="start the local server without its UI")
    return ap


def _sigterm_as_interrupt(signum, frame):  # pragma: no cover - signal handler
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.raw_dir).is_dir():
        print(f"error: RAW_DIR {args.raw_dir} is not a directory", file=sys.stderr)
        return 2
    if args.keep < 1 or args.limit < 1:
        print("error: --keep and --limit must be at least 1", file=sys.stderr)
        return 2
    from kremlin.fetch.http import MIN_DELAY
    from kremlin.fetch.options import make_options
    from kremlin.fetch.site import DEFAULT_SITE

    try:  # a bad fetch setting fails now, not at the first scheduled run
        make_options(
            args.raw_dir,
            args.site or DEFAULT_SITE,
            pages=args.fetch_pages,
            delay=MIN_DELAY if args.fetch_delay is None else args.fetch_delay,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # SIGTERM (systemd, docker stop, a test) must unwind like Ctrl-C so the server we
    # started is stopped too.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    from prefect import serve

    try:
        with prefect_api(args):
            deployment = build_deployment(
                args.raw_dir,
                args.curated_dir,
                name=args.name,
                cron=args.cron,
                timezone=args.timezone,
                keep=args.keep,
                paused=args.paused,
                site=args.site,
                fetch_pages=args.fetch_pages,
                fetch_delay=args.fetch_delay,
            )
            kwargs = {"query_seconds": args.poll_seconds} if args.poll_seconds else {}
            serve(deployment, limit=args.limit, **kwargs)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
