"""`serve`: a local preview that shows what deploys.

With MkDocs or ProperDocs the plugin runs inside their own `serve` on every rebuild, so
that is what runs. A generator that runs no plugin of ours (Zensical) has a `serve`
that shows none of our texts, so here each build is `build` + our pass into site/, and
what is served is a copy of that site taken only when both succeeded: the preview
never shows a page without its summary or alts, nor a published sidecar. A build that
fails leaves the last good preview up and removes site/ (half rendered: not to deploy).
Never calls the API; serves on loopback only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from pipeline.cli.common import load_plan
from pipeline.cli.generators import CONFIG_FILES, choose
from pipeline.cli.postbuild import postbuild_build
from pipeline.config import config_path, yaml_tags
from pipeline.generator import Generator
from pipeline.model import Site

HOST = "127.0.0.1"


def serve_command(config_file: str | None, generator: str, port: int) -> int:
    path = config_path(config_file, CONFIG_FILES)
    gen = choose(generator, path)
    command = gen.require()
    gen.check_tags(path, yaml_tags(path))
    env = dict(os.environ, ANTHROPIC_API_KEY="", ENRICH_ON_STALE="info")
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    if gen.renders == "plugin":
        argv = [*command, "serve", "-f", str(path), "--dev-addr", f"{HOST}:{port}"]
        return subprocess.run(argv, env=env).returncode
    return Preview(gen, command, str(path), env).run(port)


class Preview:
    """Build + pass into site/, a copy of it served, rebuilt when a source changes."""

    def __init__(self, gen: Generator, command: list[str], config_file: str, env: dict):
        self.gen, self.command, self.config_file, self.env = gen, command, config_file, env
        site, _plan = load_plan(config_file)
        self.site: Site = site
        self.served = Path(tempfile.mkdtemp(prefix="preview-"))
        self._lock = threading.Lock()

    def build(self) -> bool:
        """One build and pass; on success the served copy is replaced by the new site."""
        code = postbuild_build(self.gen, self.command, self.config_file, self.env, strict=False)
        site_dir = self.site.site_dir
        if code != 0 or not site_dir.is_dir():
            click.echo("preview: build failed (named above); still serving the last good one")
            shutil.rmtree(site_dir, ignore_errors=True)
            return False
        fresh = Path(tempfile.mkdtemp(prefix="preview-"))
        shutil.copytree(site_dir, fresh, dirs_exist_ok=True, symlinks=True)
        with self._lock:
            old, self.served = self.served, fresh
        shutil.rmtree(old, ignore_errors=True)
        return True

    def directory(self) -> str:
        with self._lock:
            return str(self.served)

    def run(self, port: int) -> int:
        self.build()
        preview = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=preview.directory(), **kwargs)

            def log_message(self, format, *args):
                pass

        server = ThreadingHTTPServer((HOST, port), Handler)
        url = f"http://{HOST}:{server.server_address[1]}/"
        click.echo(f"Serving {self.site.site_dir.name}/ at {url} (Ctrl-C to stop)")
        sys.stdout.flush()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            seen = self._state()
            while True:
                time.sleep(1)
                now = self._state()
                if now != seen:
                    click.echo("preview: sources changed, rebuilding")
                    sys.stdout.flush()
                    self.build()
                    seen = self._state()
                    click.echo(f"preview: serving {url}")
                    sys.stdout.flush()
        except KeyboardInterrupt:
            return 0
        finally:
            server.shutdown()
            shutil.rmtree(self.served, ignore_errors=True)

    def _state(self) -> frozenset[tuple[str, int, int]]:
        """Every source file (docs_dir, the config) by path, mtime and size."""
        site = self.site
        skip = {site.site_dir, site.state_dir}
        files = [Path(self.config_file)]
        for dirpath, dirnames, filenames in os.walk(site.docs_dir):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if here / d not in skip]
            files += [here / name for name in filenames]
        out = set()
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            out.add((str(file), st.st_mtime_ns, st.st_size))
        return frozenset(out)
