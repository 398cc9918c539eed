"""The commands. click lives only in this package."""
