"""The team store: one PostgreSQL database that a collector fills and every viewer reads.

`location` resolves and masks the store's URL; `schema` holds the versioned tables and brings a
database up to date; `admin` connects and answers `buildwatch store init|migrate|status`.
psycopg is imported only by `admin`, and only once a command needs the server, so a user who
never names a store never loads it.
"""
