"""Names vulture cannot see being used: each is read by name, by a library or through getattr.

Vulture (the dead-code check in .ci/run) reports what nothing in the repo refers to. The names
below are reached by a signature, a string or a library's reflection: list one here only with
the reason, and
prefer `ignore_names` in pyproject.toml's [tool.vulture] for whole families (Textual's `on_*`,
`action_*`, `compose`, ...). The `_` stands for any object, as vulture's whitelists write it.
"""

# ruff: noqa
# mypy: ignore-errors

# Parameters a protocol fixes: __exit__/__aexit__, a signal handler, a Protocol's `focus`, and a
# stand-in for Textual's `App.open_url` in a test.
exc_type
traceback
signum
scroll_visible
new_tab
debug_logging  # a test asks for this fixture for its effect alone

_.completer  # argcomplete reads an argparse action's `completer`
_.auth_flow  # httpx calls an `Auth` subclass's `auth_flow`
_.READ_NUM_BYTES  # httpcore reads its connections' read size from this class attribute
_.protocol_version  # http.server answers in the HTTP version its handler's attribute names
# asyncio calls a Protocol's callbacks by name (core/asyncio_network.py).
_.connection_made
_.data_received
_.eof_received
_.connection_lost
_.pause_writing
_.resume_writing
_.caption  # Rich prints a Table's `caption` under it
_.cursor_blink  # Textual's Input reads it; a snapshot test turns it off
_.get_suggestion  # Textual's Suggester calls its subclass's `get_suggestion`
_.do_GET  # http.server dispatches GET to `do_GET`
_.log_message  # http.server logs through `log_message`
_.exit_message  # a msgspec field: decoded from the BuildFinished event, kept for its shape
# The simulator's refusal rates: FaultConfig reads them by the refusal's name (sim/context.py).
_.unavailable
_.quota
_.throttle
_.gateway

# bench/gc_policy.py prints a Run's fields by name, through dataclasses.asdict.
_.gc_total_ms
_.gc_p95_ms
_.gc_max_ms
_.gc_over_50ms
_.key_median_ms
_.key_p95_ms
_.key_max_ms
