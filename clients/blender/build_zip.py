"""Build the add-on's extension zip with Blender's own `extension build` command, after
validating its manifest (mocap_blender/blender_manifest.toml) with Blender's `extension validate`.

    .venv-blender/bin/python clients/blender/build_zip.py [OUT_DIR]   (default: dist/)

Runs in a Python that has Blender's bpy module (the `.venv-blender` the tests use): bpy carries
the command Blender itself runs for `blender --command extension build`, so this builds exactly
what that would. With Blender installed, that command does the same:

    blender --command extension build --source-dir clients/blender/mocap_blender --output-dir dist

Prints the zip's path (dist/mocap-VERSION.zip).
"""

from __future__ import annotations

import sys
from pathlib import Path

import bpy  # noqa: F401 - first: it puts Blender's own add-ons (bl_pkg) on the path
import tomllib
from bl_pkg import bl_extension_cli

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "mocap_blender"


def extension_command(*args: str | Path) -> None:
    """Blender's `blender --command extension ARGS...`; raises when it fails."""
    status = bl_extension_cli.cli_extension_handler([str(arg) for arg in args])
    if status != 0:
        raise SystemExit(f"blender --command extension {args[0]} failed ({status})")


def build(out_dir: Path) -> Path:
    """Validate the manifest, build the zip into out_dir, return its path."""
    manifest = tomllib.loads((SOURCE / "blender_manifest.toml").read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    extension_command("validate", SOURCE)
    extension_command("build", "--source-dir", SOURCE, "--output-dir", out_dir)
    return out_dir / f"{manifest['id']}-{manifest['version']}.zip"


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else HERE.parent.parent / "dist"
    print(build(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
