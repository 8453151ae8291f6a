"""BuildBuddy API: typed models and a client."""
