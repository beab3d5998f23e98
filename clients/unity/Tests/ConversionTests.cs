using System.Collections.Generic;
using System.Linq;

namespace Mocap.Protocol.Tests
{
    /// <summary>Spaces, quaternions, the bone hierarchy and retargeting, on known values.</summary>
    public static class ConversionTests
    {
        static readonly Vec3 Right = new Vec3(1, 0, 0), Up = new Vec3(0, 1, 0), Forward = new Vec3(0, 0, 1);

        public static void ImageLandmarksBecomeViewportPoints()
        {
            var point = new Landmark(0.25f, 0.1f, -0.3f, 0.9f);
            Check.Near(new Vec3(0.25f, 0.9f, -0.3f), Space.ImageToViewport(point), 1e-6, "viewport");
        }

        public static void WorldLandmarksFlipEveryAxisOrAllButXMirrored()
        {
            var point = new Landmark(0.1f, -0.5f, 0.2f, 1f);
            Check.Near(new Vec3(-0.1f, 0.5f, -0.2f), Space.WorldToUnity(point, mirror: false), 0, "unmirrored");
            Check.Near(new Vec3(0.1f, 0.5f, -0.2f), Space.WorldToUnity(point, mirror: true), 0, "mirrored");
        }

        public static void QuaternionsTurnVectorsAsUnityDoes()
        {
            // Unity: Quaternion.AngleAxis(90, Vector3.up) * Vector3.forward == Vector3.right.
            Check.Near(Right, Quat.AngleAxis(90, Up).Rotate(Forward), 1e-6, "yaw 90");
            Check.Near(Up, Quat.AngleAxis(90, Forward).Rotate(Right), 1e-6, "roll 90");
            // a * b turns by b first, then by a.
            Quat a = Quat.AngleAxis(90, Up), b = Quat.AngleAxis(90, Right);
            Vec3 v = new Vec3(0.3f, -0.2f, 0.9f);
            Check.Near(a.Rotate(b.Rotate(v)), (a * b).Rotate(v), 1e-6, "a * b");
            Check.Near(v, (a * a.Inverse()).Rotate(v), 1e-6, "inverse");
        }

        public static void TheHierarchyHasFiftyFiveBonesParentsFirst()
        {
            Check.Equal(55, Humanoid.Bones.Length, "bones");
            Check.Equal(55, Humanoid.Bones.Distinct().Count(), "distinct names");
            for (int i = 0; i < Humanoid.Bones.Length; i++)
                Check.True(Humanoid.Parents[i] < i, Humanoid.Bones[i] + "'s parent comes first");
            var parents = new Dictionary<string, string>
            {
                { "Hips", null }, { "Neck", "UpperChest" }, { "RightShoulder", "UpperChest" },
                { "LeftLowerLeg", "LeftUpperLeg" }, { "RightToes", "RightFoot" }, { "Jaw", "Head" },
                { "LeftThumbProximal", "LeftHand" }, { "RightLittleDistal", "RightLittleIntermediate" },
            };
            foreach (var bone in parents)
            {
                int parent = Humanoid.Parents[Humanoid.IndexOf(bone.Key)];
                Check.Equal(bone.Value, parent < 0 ? null : Humanoid.Bones[parent], bone.Key + "'s parent");
            }
            Check.Equal(-1, Humanoid.IndexOf("Tail"), "an unknown bone");
        }

        public static void RootRotationsComposeDownTheChain()
        {
            Quat quarter = Quat.AngleAxis(90, Forward);
            var bones = new Dictionary<string, Quat> { { "LeftUpperArm", quarter }, { "LeftLowerArm", quarter } };
            Quat[] rotations = Humanoid.RootRotations(bones);
            Check.Near(quarter, rotations[Humanoid.IndexOf("LeftUpperArm")], 1e-4, "upper arm");
            Check.Near(Quat.AngleAxis(180, Forward), rotations[Humanoid.IndexOf("LeftLowerArm")], 1e-4, "lower arm");
            Check.Near(Quat.AngleAxis(180, Forward), rotations[Humanoid.IndexOf("LeftIndexDistal")], 1e-4, "fingers follow");
            Check.Near(Quat.Identity, rotations[Humanoid.IndexOf("RightLowerArm")], 1e-4, "the other arm at rest");

            // With the Hips turned, everything turns with them.
            bones["Hips"] = Quat.AngleAxis(30, Up);
            Humanoid.RootRotations(bones, rotations);
            Check.Near(Quat.AngleAxis(30, Up) * Quat.AngleAxis(180, Forward),
                       rotations[Humanoid.IndexOf("LeftLowerArm")], 1e-4, "after the Hips");
        }

        public static void RetargetIsTheStreamedRotationForIdentityRests()
        {
            Quat streamed = Quat.AngleAxis(40, new Vec3(1, 2, 3));
            Check.Near(streamed, Retarget.RootRotation(streamed, Quat.Identity), 1e-4, "VRM normalised");
        }

        public static void RetargetMovesARigWithOtherBoneAxesTheSameWay()
        {
            // A rig whose left upper arm points along its own +Y axis (as Mixamo's do): at rest
            // that axis lies along -X, like the stream's T-pose arm.
            Quat rest = Quat.AngleAxis(90, Forward);
            Vec3 boneAxis = Up;
            Check.Near(new Vec3(-1, 0, 0), rest.Rotate(boneAxis), 1e-6, "the rest arm along -X");

            // The stream lowers the arm: -X turned to -Y.
            Quat lowered = Quat.AngleAxis(90, Forward);
            Check.Near(new Vec3(0, -1, 0), lowered.Rotate(new Vec3(-1, 0, 0)), 1e-6, "the stream's arm down");
            Check.Near(new Vec3(0, -1, 0), Retarget.RootRotation(lowered, rest).Rotate(boneAxis), 1e-6,
                       "the rig's arm down too");
        }

        public static void RetargetAsLocalRotationsMatchesTheDocumentedFormula()
        {
            // Two bones with arbitrary rest rotations; the child's local rotation from the
            // root-space ones must be restLocal * (rest^-1 * streamedLocal * rest).
            Quat parentRest = Quat.AngleAxis(35, new Vec3(1, 1, 0)), childRest = Quat.AngleAxis(-70, new Vec3(0, 1, 2));
            Quat parentStreamed = Quat.AngleAxis(20, Up), childLocal = Quat.AngleAxis(50, new Vec3(1, 0, 1));
            Quat parentPosed = Retarget.RootRotation(parentStreamed, parentRest);
            Quat childPosed = Retarget.RootRotation(parentStreamed * childLocal, childRest);
            Quat restLocal = parentRest.Inverse() * childRest;
            Check.Near(restLocal * (childRest.Inverse() * childLocal * childRest),
                       parentPosed.Inverse() * childPosed, 1e-3, "local rotation");
        }

        public static void HipsMoveByTheStreamsOffsetScaledToTheAvatar()
        {
            var restHips = new Vec3(0, 1.02f, 0.03f);  // an avatar 1.2 times mocap's
            Check.Near(restHips, Retarget.HipsPosition(Retarget.StreamRestHips, restHips), 1e-6, "at rest");
            Check.Near(new Vec3(0, 0.9f, 0.03f), Retarget.HipsPosition(new Vec3(0, 0.75f, 0), restHips), 1e-5, "crouched");
        }

        public static void BlendShapeWeightsArePercentages()
        {
            Check.Equal(50f, Retarget.BlendShapeWeight(0.5f));
            Check.Equal(0f, Retarget.BlendShapeWeight(-0.2f));
            Check.Equal(100f, Retarget.BlendShapeWeight(1.5f));
        }
    }

    public static class LatestSlotTests
    {
        public static void KeepsOnlyTheNewest()
        {
            var slot = new LatestSlot<string>();
            Check.True(slot.Take() == null, "empty");
            slot.Put("a");
            slot.Put("b");
            Check.Equal("b", slot.Take());
            Check.True(slot.Take() == null, "taken");
            Check.Equal(1L, slot.Replaced, "replaced");
        }

        public static void AReaderOnAnotherThreadSeesRisingValuesOnly()
        {
            var slot = new LatestSlot<object>();
            const int count = 100000;
            var writer = new System.Threading.Thread(() =>
            {
                for (int i = 1; i <= count; i++) slot.Put(i);
            });
            writer.Start();
            int last = 0, taken = 0;
            while (last < count)
            {
                object item = slot.Take();
                if (item == null) continue;
                Check.True((int)item > last, "rising");
                last = (int)item;
                taken++;
            }
            writer.Join();
            Check.Equal((long)count, taken + slot.Replaced, "every item taken or replaced");
        }
    }
}
