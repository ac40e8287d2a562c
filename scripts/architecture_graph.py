"""Draw the apps and their imports as a Mermaid diagram, from the code (grimp, import-linter's graph builder).

    .venv/bin/python scripts/architecture_graph.py           # print the diagram
    .venv/bin/python scripts/architecture_graph.py --write   # replace it in docs/architecture.md

An arrow A --> B means code of A imports B (anywhere, inside functions too). tests/test_architecture.py fails when
the diagram in docs/architecture.md is not the one the code gives.
"""

import argparse
import configparser
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- import graph: scripts/architecture_graph.py --write -->", "<!-- end of import graph -->"


def packages() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config["importlinter"]["root_packages"].split()


def app_edges() -> set[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    names = packages()
    graph = grimp.build_graph(*names, cache_dir=None)
    edges = set()
    for module in graph.modules:
        source = module.split(".")[0]
        for imported in graph.find_modules_directly_imported_by(module):
            target = imported.split(".")[0]
            if source != target and ".migrations." not in f"{module}.":
                edges.add((source, target))
    return edges


def diagram() -> str:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"].split()
    edges = app_edges()
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {app}" for app in [*layers, *(p for p in packages() if p not in layers)]]
    lines += [
        f"    {source} --> {target}"
        for source, target in sorted(edges, key=lambda e: (layers.index(e[0]) if e[0] in layers else 99, e))
    ]
    lines.append("```")
    return "\n".join(lines)


def with_diagram(text: str, drawn: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{drawn}\n{text[end:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the diagram in docs/architecture.md")
    drawn = diagram()
    if parser.parse_args().write:
        DOC.write_text(with_diagram(DOC.read_text(), drawn))
    else:
        print(drawn)


if __name__ == "__main__":
    main()
