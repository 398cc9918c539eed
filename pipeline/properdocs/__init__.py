"""The ProperDocs adapter (the community fork of MkDocs 1.x).

ProperDocs runs the MkDocs plugin (pipeline/mkdocs/plugin.py) unchanged and builds
pages where MkDocs does, so all it needs of its own is how it is found and run, and
the config file it reads first: properdocs.yml, then mkdocs.yml.
"""

from pipeline.generator import Generator

GENERATOR = Generator(
    name="properdocs",
    config_files=("properdocs.yml", "mkdocs.yml"),
    tested="1.6.7",
    supported=((1, 6, 7), (2, 0, 0)),
    install="pip install 'sidecar-enrich[properdocs]' properdocs-theme-mkdocs",
    renders="plugin",
    module="properdocs",
    distribution="properdocs",
)
