"""Ready host configuration for answering `Accept: text/markdown` with a page's copy.

Agents fetch a page's own URL and ask for markdown in the Accept header (Claude Code
does; it does not follow `<link rel=alternate>`). A static site cannot negotiate by
itself, so the build writes, next to the pages, what each common host needs:

- `_headers` (Netlify and Cloudflare Pages both read it from the published folder):
  `.md` files are `text/markdown; charset=utf-8` and vary on Accept.
- `_hosting/nginx/enrich-map.conf` (the `http {}` block) and `enrich-server.conf` (the
  `server {}` block): a `map` on `$http_accept`, the page -> copy table, `Vary: Accept`
  and a `Link: <page.md>; rel="alternate"; type="text/markdown"` header on every page.
- `_hosting/netlify/accept-markdown.js`: a Netlify Edge Function doing the same.
- `_hosting/cloudflare/_middleware.js`: a Cloudflare Pages Function doing the same.

Every file carries the explicit page -> copy table (paths as the server sees them,
under site_url's path), so nothing guesses how a URL maps to its copy. Pure: the caller
writes the files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit

HOSTING_DIR = "_hosting"
HEADERS_FILE = "_headers"
MARKER = "# Written by sidecar-enrich"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"


def url_prefix(site_url: str | None) -> str:
    """The path the site is served under: `/` or `/docs/` (from site_url)."""
    path = urlsplit(site_url).path if site_url else "/"
    return path if path.endswith("/") else path + "/"


def copy_table(copies: Mapping[str, str], site_url: str | None) -> dict[str, str]:
    """{page URL (site-relative, %-encoded): copy path} -> {decoded request path of the
    page: decoded request path of its copy}; a page at `x/` is also asked for as
    `x/index.html` (what the server's index lookup turns it into)."""
    prefix = url_prefix(site_url)
    table: dict[str, str] = {}
    for url, copy in sorted(copies.items()):
        page = prefix + unquote(url)
        target = prefix + unquote(copy)
        table[page] = target
        if page.endswith("/"):
            table[page + "index.html"] = target
    return table


def _nginx_string(value: str) -> str | None:
    """A value as an nginx quoted string; None when nginx could not take it literally
    (`$` starts a variable, and control characters have no escape)."""
    if "$" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nginx_files(table: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """-> ({path: text}, request paths left out because nginx cannot hold them)."""
    rows, links, skipped = [], [], []
    for page, copy in table.items():
        key, value = _nginx_string(page), _nginx_string(copy)
        link = _nginx_string(f'<{quote(copy)}>; rel="alternate"; type="text/markdown"')
        if key is None or value is None or link is None:
            skipped.append(page)
            continue
        rows.append(f"    {key} {value};")
        links.append(f"    {key} {link};")
    longest = max((len(page.encode()) for page in table), default=0)
    bucket = 64
    while bucket < longest + 32:
        bucket *= 2
    maps = "\n".join(
        [
            f"{MARKER}: include inside http {{ }}, before the server of this site.",
            "# Which markdown copy answers each page, and whether the request wants it.",
            "# The bucket holds the longest page path (drop it if you set a larger one).",
            f"map_hash_bucket_size {bucket};",
            "map $uri $enrich_markdown {",
            '    default "";',
            *rows,
            "}",
            "map $uri $enrich_link {",
            '    default "";',
            *links,
            "}",
            "map $http_accept $enrich_wants_markdown {",
            "    default 0;",
            '    "~*text/markdown" 1;',
            "}",
            'map "$enrich_wants_markdown$enrich_markdown" $enrich_serve_markdown {',
            '    default "";',
            '    "~^1(?<enrich_copy>/.+)$" $enrich_copy;',
            "}",
            "",
        ]
    )
    server = "\n".join(
        [
            f"{MARKER}: include inside the server {{ }} whose root is this site",
            "# (it brings its own `location /`: merge it with yours if you have one).",
            "location ~* \\.md$ {",
            "    types { }",
            f'    default_type "{MARKDOWN_TYPE}";',
            "    add_header Vary Accept always;",
            "}",
            "location / {",
            "    if ($enrich_serve_markdown) {",
            "        rewrite ^ $enrich_serve_markdown last;",
            "    }",
            "    add_header Vary Accept always;",
            "    add_header Link $enrich_link always;",
            "}",
            "",
        ]
    )
    return (
        {
            f"{HOSTING_DIR}/nginx/enrich-map.conf": maps,
            f"{HOSTING_DIR}/nginx/enrich-server.conf": server,
        },
        skipped,
    )


def headers_file() -> str:
    """`_headers` for Netlify and Cloudflare Pages (same syntax on both)."""
    return "\n".join(
        [
            f"{MARKER}: markdown copies are markdown, and pages vary on Accept.",
            "/*.md",
            f"  Content-Type: {MARKDOWN_TYPE}",
            "  Vary: Accept",
            "",
        ]
    )


def _js_table(table: Mapping[str, str]) -> str:
    # Request paths as URL.pathname gives them: %-encoded.
    encoded = {quote(page): quote(copy) for page, copy in table.items()}
    return json.dumps(encoded, indent=0, sort_keys=True, ensure_ascii=True)


_WANTS = "/text\\/markdown/i.test(request.headers.get('accept') || '')"


def netlify_function(table: Mapping[str, str]) -> str:
    return f"""// {MARKER[2:]}: a Netlify Edge Function answering Accept: text/markdown with
// the page's markdown copy. netlify.toml: [build] edge_functions = "<site>/{HOSTING_DIR}/netlify"
const COPIES = {_js_table(table)};

export default async (request, context) => {{
  const url = new URL(request.url);
  const copy = COPIES[url.pathname];
  if (copy === undefined) return;
  if ({_WANTS}) {{
    const found = await fetch(new URL(copy, url));
    if (found.ok) {{
      const headers = new Headers(found.headers);
      headers.set("Content-Type", "{MARKDOWN_TYPE}");
      headers.set("Vary", "Accept");
      return new Response(found.body, {{ status: 200, headers }});
    }}
  }}
  const response = await context.next();
  response.headers.set("Vary", "Accept");
  response.headers.append("Link", `<${{copy}}>; rel="alternate"; type="text/markdown"`);
  return response;
}};

export const config = {{ path: "/*" }};
"""


def cloudflare_function(table: Mapping[str, str]) -> str:
    return f"""// {MARKER[2:]}: a Cloudflare Pages Function answering Accept: text/markdown
// with the page's markdown copy. Copy it to functions/_middleware.js in your project.
const COPIES = {_js_table(table)};

export async function onRequest({{ request, next, env }}) {{
  const url = new URL(request.url);
  const copy = COPIES[url.pathname];
  if (copy === undefined) return next();
  if ({_WANTS}) {{
    const found = await env.ASSETS.fetch(new URL(copy, url));
    if (found.ok) {{
      const markdown = new Response(found.body, found);
      markdown.headers.set("Content-Type", "{MARKDOWN_TYPE}");
      markdown.headers.set("Vary", "Accept");
      return markdown;
    }}
  }}
  const page = await next();
  const response = new Response(page.body, page);
  response.headers.set("Vary", "Accept");
  response.headers.append("Link", `<${{copy}}>; rel="alternate"; type="text/markdown"`);
  return response;
}}
"""


def host_files(copies: Mapping[str, str], site_url: str | None) -> tuple[dict[str, str], list[str]]:
    """{page URL: copy path} -> ({site-relative path: text}, pages nginx cannot hold)."""
    table = copy_table(copies, site_url)
    files, skipped = nginx_files(table)
    files[HEADERS_FILE] = headers_file()
    files[f"{HOSTING_DIR}/netlify/accept-markdown.js"] = netlify_function(table)
    files[f"{HOSTING_DIR}/cloudflare/_middleware.js"] = cloudflare_function(table)
    return files, skipped
