"""`mocap image PHOTO...`: annotate photos one after another, with a progress line.

PHOTO arguments are files or patterns, expanded here so that a quoted pattern works in any shell.
Where the outputs go: with neither -o nor --json, NAME.annotated.jpg and NAME.json next to each
photo; with either, only what it names, a file when PHOTO is one file and otherwise a folder. A
photo that is refused, or whose outputs cannot be written, is one line on stderr and the others
go on; the exit code is then 2.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mocap.config import Config
from mocap.errors import ConfigError
from mocap.frames import PoseFrame, is_present
from mocap.photos.annotator import (
    WRITABLE_SUFFIXES,
    PhotoAnnotator,
    PhotoResult,
    encode_image,
    photo_json,
)
from mocap.photos.checks import PhotoRefused, read_photo_file
from mocap.progress import Progress

EXIT_REFUSED = 2
ANNOTATED_SUFFIX = ".annotated"  # NAME.annotated.jpg
PART_LABELS = {"pose": "pose", "face": "face", "left_hand": "left hand", "right_hand": "right hand"}

log = logging.getLogger("mocap")


# --- which photos ------------------------------------------------------------------------------


def is_pattern(argument: str) -> bool:
    """A glob pattern, unless a file of that very name exists ("[draft] me.jpg")."""
    return not set("*?[").isdisjoint(argument) and not Path(argument).exists()


def is_own_output(path: Path) -> bool:
    """A file this command writes by default. Patterns skip them, so that a second run over a
    folder annotates the same photos as the first, not also the first run's outputs."""
    suffix = path.suffix.lower()
    return suffix == ".json" or (
        suffix in WRITABLE_SUFFIXES and path.stem.endswith(ANNOTATED_SUFFIX)
    )


def expand(arguments: Sequence[str]) -> tuple[list[Path], list[str]]:
    """The photos the arguments name, in order, each once; and a line for each pattern that
    matches no photo. A file named outright is kept even if missing: reading it says why."""
    photos: dict[Path, Path] = {}  # by resolved path: the same file twice is annotated once
    unmatched = []
    for argument in arguments:
        matches = [Path(argument)]
        if is_pattern(argument):
            found = sorted(glob.glob(os.path.expanduser(argument), recursive=True))
            matches = [p for p in map(Path, found) if p.is_file() and not is_own_output(p)]
            if not matches:
                unmatched.append(f"{argument}: no photo matches this pattern")
        for photo in matches:
            photos.setdefault(photo.resolve(), photo)
    return list(photos.values()), unmatched


# --- where the outputs go ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outputs:
    """Where one photo's results go; None: not asked for."""

    annotated: Path | None
    json: Path | None

    def paths(self) -> list[Path]:
        return [path for path in (self.annotated, self.json) if path is not None]


@dataclass(frozen=True)
class Destination:
    """What -o or --json names: one file, or a folder for files named after each photo."""

    path: Path
    is_folder: bool

    def for_photo(self, file_name: str) -> Path:
        return self.path / file_name if self.is_folder else self.path


def destination(value: str, flag: str, one_file: bool) -> Destination:
    """A folder when the value is one (or ends with /), or when there is more than one photo."""
    path = Path(value)
    if value.endswith(("/", os.sep)) or path.is_dir():
        return Destination(path, is_folder=True)
    if one_file:
        return Destination(path, is_folder=False)
    if path.exists():
        raise ConfigError(f"{flag} {value} is a file: several photos (or a pattern) need a folder")
    return Destination(path, is_folder=True)


def annotated_destination(value: str, one_file: bool) -> Destination:
    """-o: the annotated copy's file suffix chooses its format."""
    place = destination(value, "-o", one_file)
    if not place.is_folder and place.path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise ConfigError(
            f"-o {value}: the annotated copy needs an image suffix "
            f"({', '.join(WRITABLE_SUFFIXES)}), or end it with / for a folder"
        )
    return place


def photo_outputs(photo: Path, annotated: Destination | None, json: Destination | None) -> Outputs:
    return Outputs(
        annotated.for_photo(f"{photo.stem}{ANNOTATED_SUFFIX}.jpg") if annotated else None,
        json.for_photo(f"{photo.stem}.json") if json else None,
    )


def plan_outputs(
    photos: Sequence[Path], one_file: bool, annotated_to: str | None, json_to: str | None
) -> dict[Path, Outputs]:
    """Each photo's output paths; ConfigError when -o or --json cannot name them."""
    if annotated_to is None and json_to is None:  # neither flag: both, beside each photo
        outputs_of = {}
        for photo in photos:
            beside = Destination(photo.parent, is_folder=True)
            outputs_of[photo] = photo_outputs(photo, beside, beside)
        return outputs_of
    annotated = annotated_destination(annotated_to, one_file) if annotated_to is not None else None
    json = destination(json_to, "--json", one_file) if json_to is not None else None
    return {photo: photo_outputs(photo, annotated, json) for photo in photos}


class OutputClaims:
    """Refuses an output that would overwrite a photo of this run, or another photo's outputs
    (a.jpg and a.png write the same a.annotated.jpg)."""

    def __init__(self, photos: Sequence[Path]) -> None:
        self._photos = {photo.resolve(): photo for photo in photos}
        self._written: dict[Path, Path] = {}  # output -> the photo it was written for

    def check(self, photo: Path, outputs: Outputs) -> None:
        for path in outputs.paths():
            key = path.resolve()
            if key in self._photos:
                raise PhotoRefused(str(photo), f"{path} would overwrite the photo itself")
            if key in self._written:
                raise PhotoRefused(
                    str(photo), f"{path} was just written for {self._written[key]}: not replaced"
                )

    def record(self, photo: Path, outputs: Outputs) -> None:
        for path in outputs.paths():
            self._written[path.resolve()] = photo


# --- the work ----------------------------------------------------------------------------------


def write_outputs(result: PhotoResult, outputs: Outputs) -> None:
    """Write the annotated copy and the JSON; PhotoRefused naming the file when one fails."""
    files: list[tuple[Path, bytes]] = []
    if outputs.annotated is not None:
        suffix = outputs.annotated.suffix.lower()
        files.append((outputs.annotated, encode_image(result.annotated, suffix)))
    if outputs.json is not None:
        files.append((outputs.json, photo_json(result).encode()))
    for path, data in files:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise PhotoRefused(result.name, f"cannot write {path} ({exc.strerror})") from None


def found_parts(pose: PoseFrame) -> str:
    parts = pose.parts()
    found = [label for part, label in PART_LABELS.items() if is_present(parts[part])]
    return ", ".join(found) if found else "no person found"


def annotate_one(
    photo: Path, outputs: Outputs, annotator: PhotoAnnotator, claims: OutputClaims
) -> PhotoResult:
    claims.check(photo, outputs)
    name = str(photo)
    result = annotator.annotate(read_photo_file(photo, name), name)
    write_outputs(result, outputs)
    claims.record(photo, outputs)
    return result


def annotate_all(
    photos: Sequence[Path], outputs_of: dict[Path, Outputs], annotator: PhotoAnnotator
) -> int:
    """Annotate each photo, one line each (results on stdout, refusals on stderr); the number
    of photos refused."""
    progress = Progress(len(photos))
    claims = OutputClaims(photos)
    refused = 0
    for step, photo in enumerate(photos, start=1):
        progress.show(step, str(photo))
        outcome: PhotoResult | PhotoRefused
        try:
            outcome = annotate_one(photo, outputs_of[photo], annotator, claims)
        except PhotoRefused as exc:
            outcome = exc
        finally:
            progress.clear()  # also on Ctrl-C, so that the shell's prompt starts a clean line
        if isinstance(outcome, PhotoRefused):
            log.error("%s", outcome)
            refused += 1
        else:
            written = ", ".join(map(str, outputs_of[photo].paths()))
            print(f"{photo}: {found_parts(outcome.pose)} -> {written}", flush=True)
    return refused


def run(
    arguments: Sequence[str], annotated_to: str | None, json_to: str | None, config: Config
) -> int:
    """The command: 0 when every photo was annotated, 2 when any was refused or a pattern
    matched none."""
    photos, unmatched = expand(arguments)
    one_file = len(arguments) == 1 and not is_pattern(arguments[0])
    outputs_of = plan_outputs(photos, one_file, annotated_to, json_to)
    for line in unmatched:
        log.error("%s", line)
    refused = 0
    if photos:
        with PhotoAnnotator(config.model, config.photos) as annotator:
            refused = annotate_all(photos, outputs_of, annotator)
    if len(photos) > 1 or refused:
        log.info("%d of %d photos annotated", len(photos) - refused, len(photos))
    return EXIT_REFUSED if refused or unmatched else 0
