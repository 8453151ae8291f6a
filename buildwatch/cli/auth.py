"""Placeholder for the `auth` commands; replaced by their implementation."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register no commands yet."""
