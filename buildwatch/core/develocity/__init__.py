"""Develocity Export API: typed models and a resumable client."""
