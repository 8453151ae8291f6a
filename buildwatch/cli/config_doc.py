"""The README's table of configuration settings, written from the configuration's schema.

    python -m buildwatch.cli.config_doc            # rewrites the table in ./README.md

The table lies between two marker lines in the README; `tests/test_config_doc.py` fails when it
differs from what this module writes, so a setting added to `buildwatch.core.config` without
running this is caught.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

import msgspec

from buildwatch.core.config import ConfigFile, ProfileSettings
from buildwatch.core.toml_schema import Setting, dotted, optional, settings, unwrap

BEGIN = "<!-- settings: written by `python -m buildwatch.cli.config_doc` from buildwatch/core/config.py -->"
END = "<!-- end of settings -->"


def settings_table() -> str:
    """A Markdown table of every setting: the file's own, then a profile's, table by table."""
    rows = ["| setting | values | default | what |", "| --- | --- | --- | --- |"]
    top = [setting for setting in settings(ConfigFile) if setting.key != ("profiles",)]
    for setting in [*top, *settings(ProfileSettings)]:
        rows.append(
            f"| `{dotted(setting.key)}` | {_values(setting)} | {_default(setting.default)} "
            f"| {setting.description} |"
        )
    return "\n".join(rows)


def with_table(readme: str) -> str:
    """`readme` with the text between the marker lines replaced by `settings_table()`."""
    before, found, rest = readme.partition(BEGIN + "\n")
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"the README has no lines {BEGIN!r} and {END!r} to write the table between")
    return f"{before}{BEGIN}\n{settings_table()}\n{END}{after}"


def _values(setting: Setting) -> str:
    kind = optional(setting.kind)
    about = setting.about
    if "clean" in about:
        # A cleaned string says what it holds in its title; server URLs are the usual one.
        return str(about.get("title", "an http(s) URL"))
    if get_origin(kind) is Literal:
        return " or ".join(_code(choice) for choice in get_args(kind))
    if get_origin(kind) is tuple:
        item, _ = unwrap(get_args(kind)[0])
        if "title" in about:
            return str(about["title"])
        if get_origin(item) is Literal:
            return "a list of " + ", ".join(_code(choice) for choice in get_args(item))
        return "a list of strings"
    if get_origin(kind) is dict:
        return 'a table of `"id" = "keys"`'
    low, high = about.get("ge"), about.get("le")
    if kind is str and "title" in about:
        return cast(str, about["title"])
    number = {int: "an integer", float: "a number"}.get(kind)
    if number is not None:
        if low is not None and high is not None:
            return f"{number}, {low:g} to {high:g}"
        return f"{number}, at least {low:g}" if low is not None else number
    return {bool: "`true` or `false`", str: "a string"}[kind]


def _default(value: Any) -> str:
    return "none" if value is None or value == {} else _code(value)


def _code(value: Any) -> str:
    # A list of tables (the default views) is written as the file would give it.
    return f"`{json.dumps(msgspec.to_builtins(value), ensure_ascii=False)}`"


def main(argv: list[str]) -> int:
    """Rewrite the table in the README named by `argv` (default: README.md here)."""
    path = Path(argv[0] if argv else "README.md")
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
