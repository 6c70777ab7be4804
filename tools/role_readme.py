# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write each role's README.md from its meta/argument_specs.yml (and meta/main.yml), or check that it is current.

    python tools/role_readme.py           # rewrite roles/*/README.md
    python tools/role_readme.py --check   # exit 1, naming each README that differs from what it would write

The argument spec is the role's contract (types, defaults, choices, descriptions); the README says the same in
Markdown, so it is never edited by hand. Ansible's doc markup (C(), O(), V(), M(), ...) becomes Markdown.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = "lvs.ha"
CODE_MARKUP = ("C", "O", "V", "E", "RV", "M")
MARKUP = re.compile(r"\b(RV|[BCEIMOPUVL])\(([^()]*)\)")
GENERATED = (
    "<!-- Generated from meta/argument_specs.yml by tools/role_readme.py (make role-readmes): edit those, "
    "not this file. -->"
)
VARIABLES_INTRO = (
    "Checked against `meta/argument_specs.yml` when the role starts. A nested option is named after "
    "its parent (`parent[].option` for the items of a list)."
)


def markdown(text: str) -> str:
    """Ansible doc markup as Markdown: code-like markup in backticks, I() in italics, B() in bold, links."""

    def convert(match):
        kind, body = match.groups()
        if kind in CODE_MARKUP:
            return f"`{body}`"
        if kind == "P":
            return f"`{body.split('#')[0]}`"
        if kind == "I":
            return f"*{body}*"
        if kind == "B":
            return f"**{body}**"
        if kind == "U":
            return f"<{body}>"
        text, _, url = body.rpartition(",")  # L(text,url)
        return f"[{text.strip()}]({url.strip()})"

    return MARKUP.sub(convert, " ".join(str(text).split()))


def paragraphs(description) -> list[str]:
    if description is None:
        return []
    return [markdown(p) for p in (description if isinstance(description, list) else [description])]


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def flow(value) -> str:
    """A default as YAML in one line ('' for the empty string, [a, b] for a list)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def type_of(spec: dict) -> str:
    kind = spec.get("type", "str")
    return f"list of {spec['elements']}" if kind == "list" and "elements" in spec else kind


def option_rows(options: dict, prefix: str = "") -> list[str]:
    rows = []
    for name, spec in options.items():
        spec = spec or {}
        full = f"{prefix}{name}"
        if spec.get("required"):
            default = "required"
        elif "default" in spec:
            default = f"`{flow(spec['default'])}`"
        else:
            default = ""
        text = " ".join(paragraphs(spec.get("description")))
        if "choices" in spec:
            text += " Choices: " + ", ".join(f"`{flow(c)}`" for c in spec["choices"]) + "."
        if spec.get("no_log"):
            text += " Not logged."
        rows.append(f"| `{full}` | {type_of(spec)} | {cell(default)} | {cell(text.strip())} |")
        if spec.get("options"):
            nested = f"{full}[]." if spec.get("type") == "list" else f"{full}."
            rows += option_rows(spec["options"], nested)
    return rows


def used_by(role: str) -> list[str]:
    """The collection playbooks that apply the role (playbooks/*.yml naming lvs.ha.<role>)."""
    pattern = re.compile(rf"\b{re.escape(COLLECTION)}\.{re.escape(role)}\b")
    return [
        f"{COLLECTION}.{path.stem}"
        for path in sorted((ROOT / "playbooks").glob("*.yml"))
        if pattern.search(path.read_text())
    ]


def render(role_dir: Path) -> str:
    role = role_dir.name
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    galaxy = (yaml.safe_load((role_dir / "meta" / "main.yml").read_text()) or {}).get("galaxy_info", {})
    out = [GENERATED, f"# {COLLECTION}.{role}", ""]
    main = specs.get("main", {})
    out += [markdown(main.get("short_description", galaxy.get("description", ""))), ""]
    requirements = []
    if galaxy.get("min_ansible_version"):
        requirements.append(f"- ansible-core {galaxy['min_ansible_version']} or later.")
    if galaxy.get("platforms"):
        platforms = "; ".join(
            f"{p['name']} {', '.join(str(v) for v in p.get('versions', []))}".strip() for p in galaxy["platforms"]
        )
        requirements.append(f"- Platforms (meta/main.yml): {platforms}.")
    for name, entry in specs.items():
        heading = "##" if len(specs) == 1 else "###"
        if len(specs) > 1:
            out += [f"## Entry point `{name}`", "", markdown(entry.get("short_description", "")), ""]
        for text in paragraphs(entry.get("description")):
            out += [text, ""]
        if name == "main" and requirements:
            out += [f"{heading} Requirements", "", *requirements, ""]
        out += [f"{heading} Variables", ""]
        if entry.get("options"):
            out += [
                VARIABLES_INTRO,
                "",
                "| Variable | Type | Default | Description |",
                "|---|---|---|---|",
                *option_rows(entry["options"]),
                "",
            ]
        else:
            out += ["None.", ""]
    playbooks = used_by(role)
    if playbooks:
        names = ", ".join(f"`{p}`" for p in playbooks)
        several = len(playbooks) > 1
        use = (
            f"The collection's playbook{'s' if several else ''} {names} appl{'y' if several else 'ies'} this "
            f"role with variables built from the site model; the collection README says how."
        )
        out += ["## Use", "", use, ""]
    authors = main.get("author") or galaxy.get("author")
    authors = ", ".join(authors) if isinstance(authors, list) else authors
    out += ["## License and author", "", f"{galaxy.get('license', 'GPL-3.0-or-later')}; {authors}.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report READMEs that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for role_dir in sorted(p.parent.parent for p in (ROOT / "roles").glob("*/meta/argument_specs.yml")):
        readme = role_dir / "README.md"
        text = render(role_dir)
        if readme.exists() and readme.read_text() == text:
            continue
        if args.check:
            stale.append(str(readme.relative_to(ROOT)))
        else:
            readme.write_text(text)
            print(f"wrote {readme.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run make role-readmes): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
