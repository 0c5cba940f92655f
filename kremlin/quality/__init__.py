"""Quality gate for the curated tables: expectation suites, their run, and a static report."""

from kremlin.quality.gate import CheckResult, GateResult, run_quality_gate
from kremlin.quality.report import render_html, write_report
from kremlin.quality.suites import Check, FrameSuite, GateConfig, build_suites

__all__ = [
    "Check",
    "CheckResult",
    "FrameSuite",
    "GateConfig",
    "GateResult",
    "build_suites",
    "render_html",
    "run_quality_gate",
    "write_report",
]
