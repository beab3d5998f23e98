"""The built-in viewer's files (mocap/viewer/), read once, and the HTTP headers they go with."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import orjson

from mocap.addresses import HostPort
from mocap.encode.expressions import VRM0_TO_VRM1
from mocap.solve import humanoid

# URL path -> file name under mocap/viewer/. Only these are served: no directory walking.
VIEWER_PATHS = {
    "/": "index.html",
    "/viewer.js": "viewer.js",
    "/viewer.css": "viewer.css",
    "/avatar.js": "avatar.js",
    "/vrm.js": "vrm.js",
    "/vendor.js": "vendor.js",  # three.js and @pixiv/three-vrm, built by tools/vendor_viewer.py
    "/vendor-licenses.txt": "vendor-licenses.txt",
}
# The solver's rest skeleton, generated from mocap.solve.humanoid (never copied into the page).
SKELETON_PATH = "/skeleton.json"
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}


class StaticFile(NamedTuple):
    content_type: str
    body: bytes


def load_viewer() -> dict[str, StaticFile]:
    """URL path -> file, read from the package (small: read once when the server starts)."""
    folder = resources.files("mocap") / "viewer"
    pages = {
        path: StaticFile(CONTENT_TYPES[name.rpartition(".")[2]], (folder / name).read_bytes())
        for path, name in VIEWER_PATHS.items()
    }
    pages[SKELETON_PATH] = StaticFile(CONTENT_TYPES["json"], rest_skeleton_json())
    return pages


def rest_skeleton_json() -> bytes:
    """The avatar the 3D view draws: the solver's humanoid rest pose in Unity's space (the one
    the frames' "bones" rotate), and the VRM 1.0 names of the stream's VRM0 expressions."""
    return orjson.dumps(
        {
            "space": "unity: left-handed, +X right, +Y up, +Z forward, metres",
            "bones": humanoid.BONES,
            "parents": humanoid.PARENTS.tolist(),
            "rest_positions": humanoid.REST_LOCAL_POSITIONS.tolist(),
            "tip_offsets": humanoid.TIP_OFFSETS.tolist(),
            "vrm1_expressions": dict(VRM0_TO_VRM1),
        }
    )


def page_headers(authority: HostPort, content_type: str) -> list[tuple[str, str]]:
    """Headers for a viewer file requested as http://authority/...

    The policy allows nothing from elsewhere: scripts (ES modules), styles, the socket and the
    rest skeleton only from this server; images only from this page's own data: and blob: URLs
    (the annotated photo, a VRM's textures); the VRM a user drops is read in the page and its
    embedded buffers come as data: or blob: URLs (connect-src). The URL carries the token:
    no-referrer keeps it out of any request the page makes.
    """
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self' ws://{authority} data: blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return [
        ("Content-Type", content_type),
        ("Content-Security-Policy", policy),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
    ]


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def viewer_url(address: HostPort, token: str) -> str:
    """Where to open the viewer on this machine. The token is not printed (logs are kept and
    shared more than the token should be): the user adds the one they chose."""
    host = "127.0.0.1" if address.host in WILDCARD_HOSTS else str(address).rpartition(":")[0]
    url = f"http://{host}:{address.port}/"
    return f"{url}?token=YOUR_TOKEN" if token else url
