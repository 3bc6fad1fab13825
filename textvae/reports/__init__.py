"""Reports on trained models: interpolation, arithmetic, traversal and sample pages (Markdown, HTML,
JSON) and their plots."""
