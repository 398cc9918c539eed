"""Reading the site: walk docs_dir, parse markdown, fingerprint content, cache scans."""
