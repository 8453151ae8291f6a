"""buildwatch: watch CI builds live in the terminal and triage failures."""

__version__ = "0.1.0"
