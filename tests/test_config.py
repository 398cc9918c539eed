"""Reading mkdocs.yml: MkDocs' own tags, INHERIT, and our options with MkDocs' validation."""

from __future__ import annotations

from pipeline.config import load_site


def test_env_python_and_relative_tags_are_tolerated(site, monkeypatch):
    monkeypatch.setenv("DOCS_FOLDER", "content")
    site.set_config(
        """
        site_name: !ENV [SITE_NAME_NOT_SET, "Fallback name"]
        docs_dir: !ENV DOCS_FOLDER
        markdown_extensions:
          - pymdownx.emoji:
              emoji_generator: !!python/name:material.extensions.emoji.to_svg
          - pymdownx.snippets:
              base_path: !relative $config_dir
          - pymdownx.tabbed:
              slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}
        plugins:
          - enrich:
              concurrency: !ENV [ENRICH_CONCURRENCY, 6]
        """
    )
    loaded = load_site(site.config)
    assert loaded.site_name == "Fallback name"
    assert loaded.docs_dir == site.docs.resolve()
    assert loaded.options.concurrency == 6
    assert loaded.plugin_listed


def test_inherit_merges_the_parent(site):
    (site.root / "base.yml").write_text(
        "site_name: Base\ndocs_dir: content\nplugins:\n  - enrich:\n      model: claude-haiku-4-5\n"
    )
    site.set_config("INHERIT: base.yml\nsite_name: Child\n")
    loaded = load_site(site.config)
    assert loaded.site_name == "Child"
    assert loaded.options.model == "claude-haiku-4-5"


def test_defaults_when_the_plugin_is_not_listed(site):
    site.set_config("site_name: x\ndocs_dir: content\nplugins:\n  - search\n")
    site.write("index.md", "# Home\n\nText.\n")
    loaded = load_site(site.config)
    assert not loaded.plugin_listed
    assert loaded.options.model == "claude-haiku-5-5"
    assert loaded.options.image_max_edge == 512
    result = site.run("status")
    assert result.code == 0
    assert "does not list the `enrich` plugin" in result.out


def test_plugins_as_a_mapping(site):
    site.set_config("site_name: x\ndocs_dir: content\nplugins:\n  enrich:\n    concurrency: 2\n")
    assert load_site(site.config).options.concurrency == 2


def test_a_directory_is_taken_to_mean_its_mkdocs_yml(site):
    assert load_site(site.root).config_file == site.config
