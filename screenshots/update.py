"""Regenerate the README's screenshots.

The pictures are the SVG snapshots of the TUI tests: each is made from the simulator with a
fixed seed and a frozen clock, and `pytest` fails when a screen no longer matches its snapshot.
This script refreshes those snapshots and copies the ones the README shows here, under
readable names; `tests/test_screenshots.py` checks that the copies are current.

    python screenshots/update.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "__snapshots__"
TEST_FILES = (
    "tests/test_tui_main_snapshots.py",
    "tests/test_tui_drilldown_snapshots.py",
    "tests/test_tui_failures.py::test_failures_view_picture",
    "tests/test_tui_failures.py::test_failure_group_picture",
    "tests/test_tui_typical_durations.py::test_timing_context_picture",
    "tests/test_tui_main_query_snapshots.py",
)

SCREENSHOTS = {
    "main.svg": "test_tui_main_snapshots/test_live[160x48].svg",
    "build-summary.svg": "test_tui_drilldown_snapshots/test_build_screen_large.svg",
    "build-tasks.svg": "test_tui_drilldown_snapshots/test_build_screen_tabs[2].svg",
    "build-events.svg": "test_tui_drilldown_snapshots/test_build_screen_tabs[4].svg",
    "invocation-targets.svg": "test_tui_drilldown_snapshots/test_invocation_screen_large.svg",
    "log-search.svg": "test_tui_drilldown_snapshots/test_log_screen_searching.svg",
    "file-viewer.svg": "test_tui_drilldown_snapshots/test_file_viewer[test.xml].svg",
    "delete-confirmation.svg": "test_tui_drilldown_snapshots/test_confirm_delete_modal.svg",
    "help.svg": "test_tui_main_snapshots/test_help.svg",
    "credentials.svg": "test_tui_main_snapshots/test_auth_failed.svg",
    "failures.svg": "test_tui_failures/test_failures_view_picture[160x48].svg",
    "failure-group.svg": "test_tui_failures/test_failure_group_picture[160x48].svg",
    "timing.svg": "test_tui_typical_durations/test_timing_context_picture[200x50].svg",
    "query-error.svg": "test_tui_main_query_snapshots/test_a_query_error_at_its_column[160x48].svg",
    "view.svg": "test_tui_main_query_snapshots/test_a_view_with_columns_of_its_own[160x48].svg",
}
"""Screenshot name -> the snapshot it is a copy of."""


def main() -> int:
    """Refresh the snapshots the screenshots come from, then copy them here."""
    refreshed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--snapshot-update", *TEST_FILES], cwd=ROOT
    )
    if refreshed.returncode != 0:
        return refreshed.returncode
    for name, snapshot in SCREENSHOTS.items():
        shutil.copyfile(SNAPSHOTS / snapshot, ROOT / "screenshots" / name)
    print(f"wrote {len(SCREENSHOTS)} screenshots to screenshots/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
