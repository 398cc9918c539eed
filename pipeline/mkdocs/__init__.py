"""The MkDocs adapter: the plugin's hooks (plugin.py), handing off to render/.

This file imports no MkDocs, so the CLI can ask whether MkDocs is here without it.
"""

from pipeline.generator import Generator

GENERATOR = Generator(
    name="mkdocs",
    config_files=("mkdocs.yml",),
    tested="1.6.1",
    supported=((1, 6, 0), (2, 0, 0)),
    install="pip install 'sidecar-enrich[mkdocs]' (or [material])",
    renders="plugin",
    module="mkdocs",
    distribution="mkdocs",
)
