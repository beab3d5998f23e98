"""VMC receiver profiles: what each avatar app needs beyond the VMC spec. Data only.

The profile names here are the ones `--vmc-profile` and `[vmc] profile` accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType


@dataclass(frozen=True)
class VmcProfile:
    """What one receiver needs beyond the spec; every default is the spec's behaviour.

    Checked and found to need nothing of their own (so they are the generic profile by name):
    - VSeeFace: XR Animator's VSeeFace mode differs only when it also sends camera data, which
      mocap does not (ButzYung/SystemAnimatorOnline, the VRM module's VMC sender).
    - Warudo and VNyan: XR Animator negates the root position's x and z ("root_turned_around")
      for Warudo and "VNyan(+Z)". That turns ITS default root, a plain z-flip of a three.js avatar
      facing +Z (a step toward the camera comes out as -Z), into Unity's convention, in which a
      rest avatar faces +Z. The AvatarFrame is already in Unity's convention, i.e. what those
      modes produce, so turning it again would send the avatar backwards; the vnyan profile is
      therefore XR Animator's "VNyan(+Z)", not its plain "VNyan" (its default root). Warudo's
      VMC page asks only for identity rest rotations, which the solver's rest pose has.

    ARKit case: the generic profile spells the names as ARKit does (camelCase, what engines and
    Blender shape keys mostly use); the VRM receivers' profiles default to PascalCase, the clip
    names of VRM0 Perfect Sync avatars (VMagicMirror's convention, which HANA Tool and the
    52-blendshape VRoid bases follow). VMagicMirror's VMCP receiver (VMCPBlendShape.SetValue)
    looks a name up among the loaded avatar's expression keys exactly as spelled; its Perfect
    Sync detection (VMCPBlendShapePerfectSyncKeys) accepts either case once 26 names arrive.
    """

    name: str
    arkit_case: str = "camel"
    """The spelling of the 51 ARKit names sent with perfect_sync (ARKIT_CASES): "camel" as ARKit
    writes them (eyeBlinkLeft), "pascal" as VRM0 Perfect Sync avatars name their clips
    (EyeBlinkLeft, the convention of VMagicMirror and of the avatars made for it). VRM receivers
    look a Blend/Val name up among the avatar's clips as it is spelled, so it must match the
    avatar; config's vmc.arkit_case overrides the profile's."""
    perfect_sync: bool = False
    """Also send the frame's 51 ARKit weights (AvatarFrame.arkit) as Blend/Val before the Apply."""
    vrm1_names: bool = False
    """After the VRM0 values (which the spec requires), also send each VRM0 preset's value under
    its VRM1 name (VRM0_TO_VRM1), for VRM1 receivers that do not map VRM0 names themselves."""
    skipped_bones: frozenset[str] = field(default_factory=frozenset)
    """Bones this receiver ignores, left out to save bytes."""


ARKIT_CASES = ("camel", "pascal")

PROFILES: Mapping[str, VmcProfile] = MappingProxyType(
    {
        "generic": VmcProfile("generic"),
        "vseeface": VmcProfile("vseeface", arkit_case="pascal"),
        "warudo": VmcProfile("warudo", arkit_case="pascal"),
        "vnyan": VmcProfile("vnyan", arkit_case="pascal"),
        # VMagicMirror's VMCP receiver builds its humanoid without LeftEye, RightEye and Jaw and
        # drops messages for them (VMCPBasedHumanoid.GenerateHumanoidBoneHierarchy); it maps the
        # VRM0 expression names, LookUp/Down/Left/Right among them (VMCPBlendShape).
        "vmagicmirror": VmcProfile(
            "vmagicmirror",
            arkit_case="pascal",
            skipped_bones=frozenset({"LeftEye", "RightEye", "Jaw"}),
        ),
    }
)


def profile_named(
    name: str, vrm1_names: bool, *, perfect_sync: bool = False, arkit_case: str = ""
) -> VmcProfile:
    """The profile for config's vmc.profile, vmc.vrm1_names, vmc.perfect_sync and vmc.arkit_case
    ("": the profile's own case)."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(f"no VMC profile {name!r} (known: {', '.join(PROFILES)})") from None
    if arkit_case and arkit_case not in ARKIT_CASES:
        raise ValueError(f"no ARKit case {arkit_case!r} (known: {', '.join(ARKIT_CASES)})")
    return replace(
        profile,
        vrm1_names=vrm1_names,
        perfect_sync=perfect_sync,
        arkit_case=arkit_case or profile.arkit_case,
    )
