"""Quality gate for the curated tables: expectation suites, their run, and a static report."""

from kremlin.quality.gate import (
    CheckResult,
    GateResult,
    QuarantinedFile,
    RowCheckOutcome,
    check_staged,
    run_quality_gate,
)
from kremlin.quality.report import render_html, write_report
from kremlin.quality.suites import Check, FrameSuite, GateConfig, build_suites, dataset_checks, row_checks

__all__ = [
    "Check",
    "CheckResult",
    "FrameSuite",
    "GateConfig",
    "GateResult",
    "QuarantinedFile",
    "RowCheckOutcome",
    "build_suites",
    "check_staged",
    "dataset_checks",
    "render_html",
    "row_checks",
    "run_quality_gate",
    "write_report",
]
