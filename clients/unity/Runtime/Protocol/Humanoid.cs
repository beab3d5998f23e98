using System;
using System.Collections.Generic;

namespace Mocap.Protocol
{
    /// <summary>
    /// The stream's skeleton: the 55 Unity HumanBodyBones (the same names) and their parents,
    /// as mocap's solver uses them (mocap/solve/humanoid.py). Parents come before children.
    /// </summary>
    public static class Humanoid
    {
        static readonly string[] Sides = { "Left", "Right" };
        static readonly string[] Fingers = { "Thumb", "Index", "Middle", "Ring", "Little" };
        static readonly string[] Phalanges = { "Proximal", "Intermediate", "Distal" };

        // Body bones and their parents; "*" stands for the bone's own side.
        static readonly string[,] BodyBones =
        {
            { "Hips", null },
            { "LeftUpperLeg", "Hips" }, { "RightUpperLeg", "Hips" },
            { "LeftLowerLeg", "*UpperLeg" }, { "RightLowerLeg", "*UpperLeg" },
            { "LeftFoot", "*LowerLeg" }, { "RightFoot", "*LowerLeg" },
            { "Spine", "Hips" }, { "Chest", "Spine" }, { "UpperChest", "Chest" },
            { "Neck", "UpperChest" }, { "Head", "Neck" },
            { "LeftShoulder", "UpperChest" }, { "RightShoulder", "UpperChest" },
            { "LeftUpperArm", "*Shoulder" }, { "RightUpperArm", "*Shoulder" },
            { "LeftLowerArm", "*UpperArm" }, { "RightLowerArm", "*UpperArm" },
            { "LeftHand", "*LowerArm" }, { "RightHand", "*LowerArm" },
            { "LeftToes", "*Foot" }, { "RightToes", "*Foot" },
            { "LeftEye", "Head" }, { "RightEye", "Head" }, { "Jaw", "Head" },
        };

        /// <summary>The 55 bone names, parents first.</summary>
        public static readonly string[] Bones;

        /// <summary>Parents[i]: the index of bone i's parent; -1 for the Hips (the root's child).</summary>
        public static readonly int[] Parents;

        static readonly Dictionary<string, int> IndexByName = new Dictionary<string, int>();

        static Humanoid()
        {
            var names = new List<string>();
            var parents = new List<string>();
            for (int i = 0; i < BodyBones.GetLength(0); i++)
            {
                string name = BodyBones[i, 0], parent = BodyBones[i, 1];
                names.Add(name);
                parents.Add(parent != null && parent.StartsWith("*", StringComparison.Ordinal)
                    ? SideOf(name) + parent.Substring(1) : parent);
            }
            foreach (string side in Sides)
                foreach (string finger in Fingers)
                    for (int p = 0; p < Phalanges.Length; p++)
                    {
                        names.Add(side + finger + Phalanges[p]);
                        parents.Add(p == 0 ? side + "Hand" : side + finger + Phalanges[p - 1]);
                    }
            Bones = names.ToArray();
            for (int i = 0; i < Bones.Length; i++) IndexByName[Bones[i]] = i;
            Parents = parents.ConvertAll(p => p == null ? -1 : IndexByName[p]).ToArray();
        }

        /// <summary>The bone's index in <see cref="Bones"/>, or -1 for a name not in the list.</summary>
        public static int IndexOf(string name) => IndexByName.TryGetValue(name, out int i) ? i : -1;

        /// <summary>
        /// Each bone's rotation relative to the avatar's root (its "world" rotation in the
        /// avatar's own space): the local rotations multiplied down from the Hips. A bone the
        /// frame does not carry counts as at rest (identity), so its children still follow its
        /// parent. Pass <paramref name="into"/> (55 long) to reuse an array every frame.
        /// </summary>
        public static Quat[] RootRotations(IReadOnlyDictionary<string, Quat> localRotations,
                                           Quat[] into = null)
        {
            Quat[] result = into ?? new Quat[Bones.Length];
            for (int i = 0; i < Bones.Length; i++)
            {
                Quat local;
                if (!localRotations.TryGetValue(Bones[i], out local)) local = Quat.Identity;
                result[i] = Parents[i] < 0 ? local : result[Parents[i]] * local;
            }
            return result;
        }

        static string SideOf(string name)
        {
            foreach (string side in Sides)
                if (name.StartsWith(side, StringComparison.Ordinal)) return side;
            return "";
        }
    }
}
