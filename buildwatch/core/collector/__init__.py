"""`buildwatch collect`: the one process that fills the team store for every viewer.

`service` runs it: leader election (`leader`), the monitor's own feeds recording into the store
through a retrying `HistoryWriter`, heartbeats, and the bounds that keep a months-long run's
memory flat (`bounded`). `log` writes its one line per event, `health` answers liveness checks.
Nothing here imports Textual.
"""
