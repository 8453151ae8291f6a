"""The monitor's two panes, which queries, saved views and their columns are written for.

A module of its own so that the configuration can name a view's pane without importing the
query language (`buildwatch.core.query`), which only the commands that read views need.
"""

from typing import Literal

Pane = Literal["builds", "invocations"]
"""Develocity's builds, or BuildBuddy's invocations."""
