"""Discovery: which image references a page has, and which file each one means."""

from __future__ import annotations

import pytest
from conftest import png_bytes

from pipeline.config import load_site
from pipeline.source.discover import discover
from pipeline.source.markdown import parse_page, unindent_containers


def refs_of(body: str) -> list[tuple[str, str | None, str, int]]:
    return [(r.src, r.alt, r.syntax, r.line) for r in parse_page(body).refs]


def test_inline_reference_and_html_images_with_lines():
    body = (
        "# Title\n"
        "\n"
        '![A cat](cat.png "Title") and ![][ref] and ![shortcut]\n'
        "\n"
        '<img src="/img/raw.png" alt="raw alt">\n'
        "\n"
        'Inline <img src="inline.png"> html.\n'
        "\n"
        "[ref]: ref.png\n"
        "[shortcut]: short.png\n"
    )
    assert refs_of(body) == [
        ("cat.png", "A cat", "inline", 3),
        ("ref.png", "", "reference", 3),
        ("short.png", "shortcut", "reference", 3),
        ("/img/raw.png", "raw alt", "html", 5),
        ("inline.png", None, "html", 7),
    ]


def test_images_in_lists_admonitions_and_tabs_but_not_code():
    body = (
        "- item ![in list](list.png)\n"
        "\n"
        '!!! tip "Tip"\n'
        "    ![in admonition](adm.png)\n"
        "\n"
        '=== "Tab one"\n'
        "\n"
        "    ![in tab](tab.png)\n"
        "\n"
        "    ```md\n"
        "    ![fenced in tab](no1.png)\n"
        "    ```\n"
        "\n"
        "```markdown\n"
        "![fenced](no2.png)\n"
        "```\n"
        "\n"
        "    ![indented code](no3.png)\n"
        "\n"
        "Text with `![inline code](no4.png)`.\n"
    )
    assert [r[0] for r in refs_of(body)] == ["list.png", "adm.png", "tab.png"]
    lines = {r[0]: r[3] for r in refs_of(body)}
    assert lines == {"list.png": 1, "adm.png": 4, "tab.png": 8}


def test_unindent_keeps_line_count_and_nested_containers():
    body = '=== "A"\n    !!! note\n        ![x](deep.png)\n\nafter\n'
    out = unindent_containers(body)
    assert out.count("\n") == body.count("\n")
    assert [r[0] for r in refs_of(body)] == ["deep.png"]


def test_md_in_html_block_images_are_found_once():
    body = '<figure markdown>\n![fig](fig.png)\n<img src="raw.png">\n</figure>\n'
    assert sorted(r[0] for r in refs_of(body)) == ["fig.png", "raw.png"]


def test_context_heading_and_title():
    body = "# Page title\n\n## Setup\n\nBefore the picture.\n\n![](shot.png)\n\nAfter it.\n"
    parsed = parse_page(body)
    assert parsed.h1 == "Page title"
    (ref,) = parsed.refs
    assert ref.heading == "Setup"
    assert "Before the picture." in ref.context and "After it." in ref.context


def test_first_paragraph_skips_badge_only_paragraphs():
    body = "![badge](b.svg)\n\nThe real first paragraph.\n"
    assert parse_page(body).first_paragraph == "The real first paragraph."


@pytest.fixture
def tree(site):
    site.write("img/a.png", png_bytes((1, 2, 3)))
    site.write("img/my pic.png", png_bytes((4, 5, 6)))
    site.write("guide/local.png", png_bytes((7, 8, 9)))
    return site


@pytest.mark.parametrize(
    "page, src, syntax, target",
    [
        ("index.md", "img/a.png", "inline", "img/a.png"),
        ("index.md", "./img/a.png", "inline", "img/a.png"),
        ("guide/page.md", "../img/a.png", "inline", "img/a.png"),
        ("guide/page.md", "local.png", "inline", "guide/local.png"),
        ("guide/page.md", "/img/a.png", "inline", "img/a.png"),
        ("index.md", "img/my%20pic.png", "inline", "img/my pic.png"),
        ("index.md", "img%2Fa.png", "inline", "img/a.png"),
        ("index.md", "img/a.png#only-light", "inline", "img/a.png"),
        # Raw HTML is resolved against the rendered URL (guide/page/), as a browser does.
        ("guide/page.md", "../../img/a.png", "html", "img/a.png"),
    ],
)
def test_resolution(tree, page, src, syntax, target):
    body = f'<img src="{src}">\n' if syntax == "html" else f"![]({src})\n"
    tree.write(page, body)
    found = discover(load_site(tree.config))
    (ref,) = next(p for p in found.pages if p.path == page).refs
    assert (ref.target, ref.skip) == (target, None)
    assert not found.problems


@pytest.mark.parametrize(
    "src, reason",
    [
        ("https://example.com/x.png", "remote"),
        ("//cdn.example.com/x.png", "remote"),
        ("data:image/png;base64,iVBORw0KGgo=", "data-uri"),
        ("{{ sponsor.img }}", "template"),
    ],
)
def test_remote_data_and_template_sources_are_skipped_not_errors(tree, src, reason):
    tree.write("index.md", f'<img src="{src}">\n')
    found = discover(load_site(tree.config))
    (ref,) = found.pages[0].refs
    assert (ref.target, ref.skip) == (None, reason)
    assert found.problems == []
    assert found.images == {}


@pytest.mark.parametrize("src", ["{{logo_path}}", "{{ logo_path }}", "{{ config.extra.x }}"])
def test_markdown_template_sources_are_skipped_in_either_spacing(tree, src):
    """CommonMark percent-encodes `{{x}}` and refuses `{{ x }}` (a space) as a link
    destination: both are still seen, as templates, never as a missing file."""
    tree.write("index.md", f"# Home\n\nText.\n\n![]({src})\n")
    found = discover(load_site(tree.config))
    (ref,) = found.pages[0].refs
    assert (ref.src, ref.target, ref.skip) == (src, None, "template")
    assert found.problems == []


@pytest.mark.parametrize("src", ["{{logo_path}}", "{{ logo_path }}", "{{ extra.logo_path }}"])
def test_template_source_filled_from_extra_when_macros_is_listed(tree, src):
    """mkdocs-macros fills `{{ name }}` from `extra:`: the image the page will show is
    an item with this page's context. Without macros nothing fills it: skipped."""
    tree.write("img/logo.png", png_bytes())
    tree.write("index.md", f"# Home\n\nOur logo.\n\n![]({src})\n")
    tree.config.write_text(
        "site_name: T\ndocs_dir: content\nplugins: [macros, enrich]\n"
        "extra:\n  logo_path: img/logo.png\n"
    )
    found = discover(load_site(tree.config))
    (ref,) = found.pages[0].refs
    assert (ref.target, ref.skip) == ("img/logo.png", None)
    assert set(found.images) == {"img/logo.png"}
    tree.config.write_text(
        "site_name: T\ndocs_dir: content\nplugins: [enrich]\nextra:\n  logo_path: img/logo.png\n"
    )
    found = discover(load_site(tree.config))
    assert (found.pages[0].refs[0].skip, found.images, found.problems) == ("template", {}, [])


def test_template_filled_to_a_missing_file_is_skipped_not_an_error(tree):
    tree.write("index.md", "![]({{ logo_path }})\n")
    tree.config.write_text(
        "site_name: T\ndocs_dir: content\nplugins: [macros]\nextra:\n  logo_path: img/gone.png\n"
    )
    found = discover(load_site(tree.config))
    assert (found.pages[0].refs[0].skip, found.problems) == ("template", [])


def test_only_referenced_images_are_read(tree):
    tree.write("index.md", "![](img/a.png)\n")
    found = discover(load_site(tree.config))
    assert set(found.images) == {"img/a.png"}


def test_hidden_and_excluded_files_are_not_pages(tree):
    tree.write(".drafts/secret.md", "# secret\n")
    tree.write("templates/x.md", "# t\n")
    tree.write("index.md", "# home\n")
    found = discover(load_site(tree.config))
    assert [p.path for p in found.pages] == ["index.md"]
