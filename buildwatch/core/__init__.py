"""The headless core: models, API clients, parsing and safety helpers. Never imports Textual."""
