"""Build mocap/viewer/vendor.js (three.js and @pixiv/three-vrm for the viewer's 3D view) and
mocap/viewer/vendor-licenses.txt, reproducibly, so that installing mocap needs no Node.

The inputs are pinned by tools/viewer_vendor/package-lock.json (exact versions and the registry's
integrity hashes, which `npm ci` checks); esbuild (pinned there too) bundles what
tools/viewer_vendor/entry.js exports into one minified ES module. The same inputs give the same
bytes: the output's SHA-256 is pinned below and checked after every build, and
tests/test_viewer_vendor.py checks the committed file against it.

    python tools/vendor_viewer.py          # npm ci in a temporary folder, bundle, check, write
    python tools/vendor_viewer.py --check  # the same, but only compare with the committed files

A change of version is a change of package.json, the lock file (`npm install
--package-lock-only` in tools/viewer_vendor/) and VENDOR_SHA256 together.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INPUTS = REPO / "tools" / "viewer_vendor"
VIEWER = REPO / "mocap" / "viewer"
BUNDLE = VIEWER / "vendor.js"
LICENSES = VIEWER / "vendor-licenses.txt"
VENDOR_SHA256 = "d9d3957942603c0d3effa15a85c4e81f1ffb0d4958ca9095c88346048978393a"
# The packages whose code ends up in the bundle (esbuild is a build tool, the types are types).
BUNDLED = ("three", "@pixiv/three-vrm")


def built_packages(modules: Path) -> list[Path]:
    """three and every @pixiv/three-vrm* package (the loader's parts), in a fixed order."""
    return [modules / "three", *sorted((modules / "@pixiv").glob("three-vrm*"))]


def licence_text(modules: Path) -> str:
    parts = [
        "Third-party code in vendor.js (built by tools/vendor_viewer.py from the npm registry).\n"
    ]
    for package in built_packages(modules):
        meta = json.loads((package / "package.json").read_text())
        licence = (package / "LICENSE").read_text().strip()
        parts.append(f"\n== {meta['name']} {meta['version']} ({meta['license']}) ==\n\n{licence}\n")
    return "".join(parts)


def build(work: Path) -> tuple[bytes, str]:
    for name in ("package.json", "package-lock.json", "entry.js"):
        shutil.copy(INPUTS / name, work / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work, check=True
    )
    banner = "/* " + ", ".join(BUNDLED) + ": MIT; licences in vendor-licenses.txt */"
    subprocess.run(
        [
            str(work / "node_modules" / ".bin" / "esbuild"),
            "entry.js",
            "--bundle",
            "--format=esm",
            "--minify",
            "--legal-comments=none",
            f"--banner:js={banner}",
            "--outfile=vendor.js",
        ],
        cwd=work,
        check=True,
    )
    return (work / "vendor.js").read_bytes(), licence_text(work / "node_modules")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mocap-vendor-") as work:
        bundle, licences = build(Path(work))
    digest = hashlib.sha256(bundle).hexdigest()
    print(f"vendor.js: {len(bundle)} bytes, sha256 {digest}")
    if digest != VENDOR_SHA256:
        print(f"not the pinned build (VENDOR_SHA256 is {VENDOR_SHA256})", file=sys.stderr)
        return 1
    if arguments.check:
        same = BUNDLE.read_bytes() == bundle and LICENSES.read_text() == licences
        print("the committed files match" if same else "the committed files differ")
        return 0 if same else 1
    BUNDLE.write_bytes(bundle)
    LICENSES.write_text(licences)
    return 0


if __name__ == "__main__":
    sys.exit(main())
