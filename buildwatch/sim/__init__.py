"""A local simulator of the Develocity Export API and the BuildBuddy API.

It backs `buildwatch sim`, `buildwatch demo`, every test, benchmark and screenshot. It never
imports Textual.
"""
