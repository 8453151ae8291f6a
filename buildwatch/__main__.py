"""Allow `python -m buildwatch`."""

from buildwatch.cli import main

raise SystemExit(main())
