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
    """

    name: str
    vrm1_names: bool = False
    """After the VRM0 values (which the spec requires), also send each VRM0 preset's value under
    its VRM1 name (VRM0_TO_VRM1), for VRM1 receivers that do not map VRM0 names themselves."""
    skipped_bones: frozenset[str] = field(default_factory=frozenset)
    """Bones this receiver ignores, left out to save bytes."""


PROFILES: Mapping[str, VmcProfile] = MappingProxyType(
    {
        "generic": VmcProfile("generic"),
        "vseeface": VmcProfile("vseeface"),
        "warudo": VmcProfile("warudo"),
        "vnyan": VmcProfile("vnyan"),
        # VMagicMirror's VMCP receiver builds its humanoid without LeftEye, RightEye and Jaw and
        # drops messages for them (VMCPBasedHumanoid.GenerateHumanoidBoneHierarchy); it maps the
        # VRM0 expression names, LookUp/Down/Left/Right among them (VMCPBlendShape).
        "vmagicmirror": VmcProfile(
            "vmagicmirror", skipped_bones=frozenset({"LeftEye", "RightEye", "Jaw"})
        ),
    }
)


def profile_named(name: str, vrm1_names: bool) -> VmcProfile:
    """The profile for config's vmc.profile and vmc.vrm1_names."""
    try:
        return replace(PROFILES[name], vrm1_names=vrm1_names)
    except KeyError:
        raise ValueError(f"no VMC profile {name!r} (known: {', '.join(PROFILES)})") from None
