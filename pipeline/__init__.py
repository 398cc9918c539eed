"""Build-time enrichment for static sites: summaries and alt text, spent once per change."""

__version__ = "0.1.0"
