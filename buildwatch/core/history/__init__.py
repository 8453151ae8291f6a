"""The local history: every build seen, each watched invocation's latest state and each stream's
position, kept in an SQLite file so a restart misses nothing and the history can be browsed offline.

`open_history` opens (or recovers) the file and `HistoryStore` reads it; `HistoryWriter` writes
from a thread of its own so the screen never waits for the disk; `resumed_listing` replays what
was published while buildwatch was closed, then follows the listing.
"""
