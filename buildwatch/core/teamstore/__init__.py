"""The team store: one PostgreSQL database that a collector fills and every viewer reads.

`location` resolves and masks the store's URL; `schema` holds the versioned tables; `connection`
connects and checks the schema's version, saying in one line why it cannot; `admin` answers
`buildwatch store init|migrate|status`; `store` is the store itself, the `BuildHistory` the
collector writes and viewers read; `listen` wakes viewers when it changes, and `follow` reads
the changes for them. psycopg is imported inside functions, only once something needs the
server, so a user who never names a store never loads it.
"""
