"""Print the writer table of tests/writers/README.md from files/*/writer.json (run after
regenerate.sh): `python tests/writers/summarize.py`."""

from __future__ import annotations

import json
from pathlib import Path

FILES = Path(__file__).parent / "files"


def main() -> None:
    print("| writer | Keras | TensorFlow | numpy | files | size | not written (Keras' own error) |")
    print("|---|---|---|---|---|---|---|")
    total_files, total_size = 0, 0
    for folder in sorted(FILES.iterdir(), key=_order):
        if not folder.is_dir():
            continue
        info = json.loads((folder / "writer.json").read_text())
        files = [p for p in folder.iterdir() if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        total_files, total_size = total_files + len(files), total_size + size
        failed = [
            f"{model}{kind}"
            for model, record in info["models"].items()
            for kind in record["errors"]
        ]
        print(
            f"| {folder.name} | {info['keras']} | {info['tensorflow']} | {info['numpy']} | "
            f"{len(files)} | {size / 1e6:.2f} MB | {', '.join(failed) or '—'} |"
        )
    print(f"\n{total_files} files, {total_size / 1e6:.1f} MB.\n")
    skipped: dict[str, dict[str, list[str]]] = {}
    for folder in sorted(FILES.iterdir(), key=_order):
        if folder.is_dir():
            info = json.loads((folder / "writer.json").read_text())
            for cls, why in info["skipped_classes"].items():
                skipped.setdefault(cls, {}).setdefault(why, []).append(folder.name)
    print("| registry class | not in the battery because |\n|---|---|")
    for cls in sorted(skipped):
        reasons = "; ".join(f"{why} ({', '.join(ws)})" for why, ws in skipped[cls].items())
        print(f"| {cls} | {reasons} |")


def _order(path: Path) -> tuple:
    name = path.name
    family, _, version = name.partition("-")
    return (family, tuple(int(p) for p in version.split(".") if p.isdigit()))


if __name__ == "__main__":
    main()
