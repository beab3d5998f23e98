"""Build the add-on's zip for Blender's Preferences > Add-ons > Install from Disk.

    python clients/blender/build_zip.py [OUT.zip]     (default: dist/mocap_blender-VERSION.zip)

The zip holds the package folder mocap_blender/ with its .py files, as Blender expects of an
add-on that is a package. Standard library only: any Python 3.10+ runs it.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "mocap_blender"


def version() -> str:
    """bl_info's version, read without importing the package (as Blender reads it)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "bl_info" for t in node.targets
        ):
            info = ast.literal_eval(node.value)
            return ".".join(str(part) for part in info["version"])
    raise ValueError(f"no bl_info in {PACKAGE / '__init__.py'}")


def build(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source in sorted(PACKAGE.glob("*.py")):
            archive.write(source, f"{PACKAGE.name}/{source.name}")
    return out


def main(argv: list[str]) -> int:
    default = HERE.parent.parent / "dist" / f"mocap_blender-{version()}.zip"
    out = build(Path(argv[0]) if argv else default)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
