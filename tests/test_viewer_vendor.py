"""The viewer's vendored three.js and three-vrm (mocap/viewer/vendor.js) are exactly what
tools/vendor_viewer.py builds from its pinned inputs, with every bundled package's licence."""

from __future__ import annotations

import hashlib
import json
import runpy

from tests.runs import REPO

VIEWER = REPO / "mocap" / "viewer"
SCRIPT = runpy.run_path(str(REPO / "tools" / "vendor_viewer.py"))
LOCK = json.loads((REPO / "tools" / "viewer_vendor" / "package-lock.json").read_text())


def test_the_committed_bundle_is_the_pinned_build() -> None:
    bundle = (VIEWER / "vendor.js").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == SCRIPT["VENDOR_SHA256"]
    assert bundle.startswith(b"/* three, @pixiv/three-vrm: MIT; licences in vendor-licenses.txt */")


def test_every_bundled_package_s_licence_ships_with_it_at_the_locked_version() -> None:
    licences = (VIEWER / "vendor-licenses.txt").read_text()
    bundled = {
        path.removeprefix("node_modules/"): package["version"]
        for path, package in LOCK["packages"].items()
        if path in ("node_modules/three", "node_modules/@pixiv/three-vrm")
        or path.startswith("node_modules/@pixiv/three-vrm-")
    }
    assert len(bundled) == 8  # three, three-vrm and its six parts
    for name, version in bundled.items():
        assert f"== {name} {version} (MIT) ==" in licences
    assert licences.count("Permission is hereby granted, free of charge") == len(bundled)
