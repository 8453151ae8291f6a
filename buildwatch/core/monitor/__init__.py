"""What the live monitor knows and how it learns it: a store fed by the Develocity and BuildBuddy feeds."""
