"""A TOML file described by msgspec Structs: its mistakes reported where they are written, and
its settings listed for documentation.

The Structs are the one description of a file: each field's name is the key, its type (with
`msgspec.Meta` bounds) what the key may hold, its default the default, and its `Meta`
`description` and `examples` what the documentation says. `msgspec.convert` builds the typed
settings, but its errors name a path (`$.profiles.work.ui`), and tomllib keeps no positions. So
`SchemaChecker` walks the document first, against the same Structs, and reports the first
mistake as `file:line:column: message`, in the setting's own words ("must be an integer, not a
string"); what it returns converts without error. It supports what a TOML setting holds:
tables (Structs, and dicts of free keys), strings, integers and numbers (with `ge`/`le` bounds),
booleans, literals, lists of strings, of a literal's words or of tables, and `X | None` for a
setting that is unset by default.

A string's `Meta` may add a `pattern` it must match, with a `title` and `examples` that say what
it must be (`keys like "w" or "w,ctrl+w"`), and `extra={"clean": function}`: a function that
checks the string and returns it cleaned (`function(value, dotted_key)`, raising `ConfigError`
with the reason).
"""

from __future__ import annotations

import datetime
import functools
import re
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import msgspec

from buildwatch.core.errors import ConfigError

# Key names that only a secret would have: the file must not become a plaintext credential store.
_SECRET_KEY = re.compile(r"token|passw|secret|api[_-]?key|access[_-]?key|credential", re.IGNORECASE)
_META_FIELDS = ("ge", "le", "pattern", "title", "description", "examples")

Key = tuple[str, ...]
"""A setting's place in the file: `("profiles", "work", "ui", "theme")`."""


@dataclass(frozen=True)
class Setting:
    """One key of a file's tables, as the schema describes it."""

    key: Key
    kind: Any
    """The field's type, its `Annotated` metadata removed."""
    default: Any
    about: Mapping[str, Any]
    """Its `Meta`: bounds (`ge`, `le`), `pattern`, `description`, `examples`, `clean`."""

    @property
    def description(self) -> str:
        """What the setting does, or "" when the schema does not say."""
        return cast(str, self.about.get("description", ""))

    @property
    def example(self) -> Any:
        """The first of the setting's `examples`, or None."""
        return (self.about.get("examples") or [None])[0]


def settings(schema: type[msgspec.Struct], table: Key = ()) -> Iterator[Setting]:
    """Every setting of `schema`'s tables, in the order the Structs declare them.

    A field holding a Struct is a table whose settings are listed in turn; a field holding a
    dict (a table of free keys, such as key bindings) is one setting.
    """
    for field in _fields(schema):
        kind, about = unwrap(field.type)
        key = (*table, field.name)
        if _is_struct(kind):
            yield from settings(kind, key)
            continue
        default = field.default_factory() if field.default is msgspec.NODEFAULT else field.default
        yield Setting(key, kind, default, about)


def unwrap(annotation: Any) -> tuple[Any, dict[str, Any]]:
    """The type under `Annotated`, and its `Meta`s' bounds, pattern, title, description,
    examples and extra, merged."""
    about: dict[str, Any] = {}
    if get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
        for meta in metadata:
            if isinstance(meta, msgspec.Meta):
                about.update({name: getattr(meta, name) for name in _META_FIELDS
                              if getattr(meta, name) is not None})
                about.update(meta.extra or {})
    return annotation, about


def optional(kind: Any) -> Any:
    """`X` for `X | None` (TOML has no null: such a setting is an X that may be left out),
    else `kind`."""
    if get_origin(kind) in (Union, types.UnionType):
        (present,) = [option for option in get_args(kind) if option is not type(None)]
        return present
    return kind


def dotted(key: Key) -> str:
    """`key` as the file writes it: `profiles.work.ui.theme`."""
    return ".".join(key)


class SchemaChecker:
    """Checks a parsed TOML document against a schema, reporting mistakes at their place."""

    def __init__(self, text: str, path: Path) -> None:
        self._lines = text.splitlines()
        self._path = path

    def check(self, document: Mapping[str, Any], schema: type[msgspec.Struct]) -> dict[str, Any]:
        """`document` checked against `schema`, its cleaned strings replaced, numbers made floats
        where the schema wants one: ready for `msgspec.convert(..., schema)`."""
        return self._struct(document, schema, ())

    def error_at(self, key: Key, message: str) -> ConfigError:
        """A ConfigError at the line and column where `key` is written (or its nearest table)."""
        position = self._locate(key)
        if position is None:
            return ConfigError(f"{self._path}: {message}")
        line, column = position
        return ConfigError(f"{self._path}:{line}:{column}: {message}")

    def error_at_value(self, key: Key, value: str, message: str) -> ConfigError:
        """A ConfigError where the string `value` is first written, quoted, from `key`'s line on
        (an entry of a list of inline tables, which `error_at` can only place at the list);
        at `key` when it is not found so (written with escapes)."""
        position = self._locate(key)
        first = 0 if position is None else position[0] - 1
        for number, line in enumerate(self._lines[first:], start=first + 1):
            for quote in ('"', "'"):
                column = line.find(f"{quote}{value}{quote}")
                if column >= 0:
                    return ConfigError(f"{self._path}:{number}:{column + 1}: {message}")
        return self.error_at(key, message)

    def _value(self, value: Any, annotation: Any, key: Key) -> Any:
        kind, about = unwrap(annotation)
        kind = optional(kind)
        origin, arguments, name = get_origin(kind), get_args(kind), dotted(key)
        if _is_struct(kind):
            return self._struct(self._typed(value, dict, key), kind, key)
        if origin is dict:
            table = self._typed(value, dict, key)
            return {entry: self._value(item, arguments[1], (*key, entry))
                    for entry, item in table.items()}
        if origin is Literal:
            if not _is_choice(value, arguments):
                raise self.error_at(key, f"{name} must be {' or '.join(map(repr, arguments))}")
            return value
        if origin in (tuple, list):
            return [self._item(entry, arguments[0], key) for entry in self._typed(value, list, key)]
        if kind in (int, float):
            number = self._typed(value, (int, float) if kind is float else int, key)
            self._check_bounds(number, about, key)
            return kind(number)
        if kind is bool:
            return self._typed(value, bool, key)
        if kind is str:
            expected = _expectation(about)
            text = self._typed(value, str, key, expected)
            pattern = about.get("pattern")
            if pattern is not None and not re.search(pattern, text):
                raise self.error_at(key, f"{name} must be {expected or f'like {pattern!r}'}")
            return self._clean(text, about, key)
        raise TypeError(f"{name}: a schema type a TOML file cannot hold: {kind!r}")

    def _struct(
        self, table: Mapping[str, Any], schema: type[msgspec.Struct], key: Key
    ) -> dict[str, Any]:
        """Refuse secret-looking keys and unknown keys (usually typos), then check each value."""
        fields = {field.name: field.type for field in _fields(schema)}
        for name in table:
            if _SECRET_KEY.search(name):
                raise self.error_at(
                    (*key, name),
                    f"{dotted((*key, name))} looks like a secret, and the configuration file never "
                    "holds one; remove it and use `buildwatch auth login` or the BUILDWATCH_* "
                    "environment variables",
                )
            retired: Mapping[str, str] = getattr(schema, "RETIRED", {})
            if name in retired:
                raise self.error_at(
                    (*key, name), f"{dotted((*key, name))} is no longer a setting: {retired[name]}"
                )
            if name not in fields:
                raise self.error_at(
                    (*key, name),
                    f"unknown setting {dotted((*key, name))}; expected one of {', '.join(sorted(fields))}",
                )
        missing = [field.name for field in _fields(schema) if field.required and field.name not in table]
        if missing:
            raise self.error_at(key, f"{dotted(key)} needs {', '.join(missing)}")
        return {name: self._value(value, fields[name], (*key, name)) for name, value in table.items()}

    def _item(self, entry: Any, annotation: Any, key: Key) -> Any:
        """One entry of the list at `key`: a word from a literal's choices, a string, or a table
        (reported at the list's line: the entries of an inline list are not told apart)."""
        kind, _ = unwrap(annotation)
        if _is_struct(kind):
            return self._struct(self._typed(entry, dict, key), kind, key)
        if get_origin(kind) is Literal:
            choices = get_args(kind)
            if not _is_choice(entry, choices):
                raise self.error_at(
                    key, f"{dotted(key)} has {entry!r}; use any of {', '.join(map(str, choices))}"
                )
            return entry
        if kind is str and isinstance(entry, str):
            return entry
        raise self.error_at(key, f"{dotted(key)} must be a list of strings")

    def _typed(
        self,
        value: Any,
        kinds: type[Any] | tuple[type[Any], ...],
        key: Key,
        expected: str | None = None,
    ) -> Any:
        """`value`, checked against `kinds` (a bool is never taken for a number)."""
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            # Name the expected type only: the value might be something the user did not mean to show.
            wanted = expected or f"{_describe(kinds)}, not {_describe((type(value),))}"
            raise self.error_at(key, f"{dotted(key)} must be {wanted}")
        return value

    def _check_bounds(self, number: float, about: Mapping[str, Any], key: Key) -> None:
        low, high = about.get("ge"), about.get("le")
        if (low is None or number >= low) and (high is None or number <= high):
            return
        if low is not None and high is not None:
            bound = f"be between {low:g} and {high:g}"
        elif low == 0:
            bound = "not be negative"
        elif low is not None:
            bound = f"be at least {low:g}"
        else:
            bound = f"be at most {high:g}"
        raise self.error_at(key, f"{dotted(key)} must {bound}")

    def _clean(self, text: str, about: Mapping[str, Any], key: Key) -> str:
        clean = cast(Callable[[str, str], str] | None, about.get("clean"))
        if clean is None:
            return text
        try:
            return clean(text, dotted(key))
        except ConfigError as error:
            raise self.error_at(key, str(error)) from None

    def _locate(self, wanted: Key) -> tuple[int, int] | None:
        # tomllib drops positions, so find the key again in the text. Inline tables are not
        # followed; an ancestor's position is the next best thing.
        for length in range(len(wanted), 0, -1):
            position = self._find(wanted[:length])
            if position is not None:
                return position
        return None

    def _find(self, wanted: Key) -> tuple[int, int] | None:
        current: Key = ()
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header:
                current = _split_key(header[1])
                if current == wanted:
                    return number, line.index("[") + 1
                continue
            assignment = _ASSIGNMENT.match(line)
            if assignment and (*current, *_split_key(assignment[2])) == wanted:
                return number, len(assignment[1]) + 1
        return None


_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z0-9_\-.\"' ]+?)\s*=")


_KEY_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[^.\"']+")


def _split_key(key: str) -> Key:
    """`a."b.c"` as `("a", "b.c")`: a quoted part keeps its dots."""
    return tuple(part.strip().strip("\"'") for part in _KEY_PART.findall(key) if part.strip())


@functools.cache
def _fields(schema: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    # Resolving a Struct's annotations costs more than checking a whole file: once is enough.
    return msgspec.structs.fields(schema)


def _is_struct(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, msgspec.Struct)


def _is_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    # Of the same type too: `2.0` is not the `2` of `Literal[1, 2]`, nor `true` its `1`.
    return any(value == choice and type(value) is type(choice) for choice in choices)


def _expectation(about: Mapping[str, Any]) -> str | None:
    """`keys like "w" or "w,ctrl+w"` for a field with a title and examples, else None."""
    title, examples = about.get("title"), about.get("examples")
    if not title or not examples or not all(isinstance(example, str) for example in examples):
        return None
    return f"{title} like " + " or ".join(f'"{example}"' for example in examples)


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
    datetime.datetime: "a date and time",
    datetime.date: "a date",
    datetime.time: "a time",
}


def _describe(kinds: tuple[type[Any], ...]) -> str:
    if float in kinds:
        kinds = tuple(kind for kind in kinds if kind is not int)
    return " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds)
