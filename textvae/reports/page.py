"""Report pages: the same content as self-contained HTML (plots embedded), Markdown and JSON."""

from __future__ import annotations

import base64
import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Sequence

from textvae.io import atomic_directory, atomic_write_text

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right}img{max-width:100%}
.meta{color:#666;font-size:13px}"""


@dataclass
class Section:
    title: str
    columns: List[str] = field(default_factory=list)
    rows: List[List[Any]] = field(default_factory=list)
    text: str = ""
    images: List[Path] = field(default_factory=list)  # PNG files, embedded in the HTML


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def render_html(title: str, meta: str, sections: Sequence[Section]) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='meta'>{html.escape(meta)}</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for image in section.images:
            data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
            parts.append(f"<img alt='{html.escape(Path(image).stem)}' src='data:image/png;base64,{data}'>")
        if section.columns:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in section.columns) + "</tr>")
            for row in section.rows:
                cells = "".join(f"<td class='num'>{_cell(v)}</td>" if isinstance(v, (int, float))
                                else f"<td>{html.escape(_cell(v))}</td>" for v in row)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(title: str, meta: str, sections: Sequence[Section]) -> str:
    lines = [f"# {title}", "", meta, ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        lines += [f"![{Path(image).stem}]({Path(image).name})" for image in section.images]
        if section.images:
            lines.append("")
        if section.columns:
            lines.append("| " + " | ".join(section.columns) + " |")
            lines.append("|" + "---|" * len(section.columns))
            for row in section.rows:
                lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
            lines.append("")
    return "\n".join(lines)


def write_report(out_dir: Path, title: str, meta: str, sections: Sequence[Section], data: Any) -> Path:
    """Write ``report.html``, ``report.md`` (with its PNGs next to it) and ``report.json`` into
    ``out_dir`` as a whole (a temporary directory renamed into place)."""
    with atomic_directory(out_dir) as tmp:
        for section in sections:
            for image in section.images:
                shutil.copy(image, tmp / Path(image).name)
        atomic_write_text(tmp / "report.html", render_html(title, meta, sections))
        atomic_write_text(tmp / "report.md", render_markdown(title, meta, sections))
        atomic_write_text(tmp / "report.json", json.dumps({"title": title, "meta": meta, "data": data},
                                                          indent=2, default=str) + "\n")
    return Path(out_dir)
