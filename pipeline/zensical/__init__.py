"""The Zensical adapter: how Zensical is found and run, its versions, its config.

Zensical runs no plugin of ours (it drops unknown plugins without a word) and has no
hooks, so everything is rendered by pipeline.render.postbuild over the built HTML. What
this adapter relies on of Zensical is its command line (`zensical build -f FILE`,
`zensical --version`) and the HTML its Material-derived theme writes (`</head>`, one
meta description, content in <article>, a blog listing's excerpts in
`<article class="md-post md-post--excerpt">`); it is checked against the versions tested.
"""

from __future__ import annotations

from pipeline.generator import Generator

# Tested: 0.0.73 (the newest pip resolves here: 0.1.x needs a `zensical-ui` wheel the
# index lacks). 0.1.3 was measured by hand to write the same head and content hooks.
TESTED = "0.0.73"

GENERATOR = Generator(
    name="zensical",
    config_files=("zensical.toml", "mkdocs.yml"),
    tested=TESTED,
    supported=((0, 0, 73), (0, 2, 0)),
    install=f"pip install zensical=={TESTED}",
    renders="postbuild",
    # $ZENSICAL (a path to the executable) wins over the one beside this Python and PATH.
    env="ZENSICAL",
    yaml_tags=("!ENV",),
)

check_version = GENERATOR.check_version
