"""Turning sidecars into what readers see: texts per sink, HTML edits, head tags, feeds.

Generator-neutral: nothing here imports a site generator or the enrich stage.
"""
