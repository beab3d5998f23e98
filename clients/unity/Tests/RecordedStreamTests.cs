using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Mocap.Protocol.Tests
{
    /// <summary>
    /// The parser on real messages: Tests/data/stream.jsonl is a hello and four frames as a
    /// client received them from `mocap replay --solve` of tests/data/recording_thumbs_up.jsonl.gz
    /// (a person's face, body and, in the last two frames, right hand; 1280x720 at 25 fps).
    /// </summary>
    public static class RecordedStreamTests
    {
        static readonly string[] Lines = TestRunner.StreamLines();
        static readonly Message[] Messages = Lines.Select(MessageParser.Parse).ToArray();
        static readonly Frame[] Frames = Messages.OfType<Frame>().ToArray();

        static readonly string[] Expressions =
        {
            "Blink", "Blink_L", "Blink_R", "A", "I", "U", "E", "O", "Joy",
            "LookUp", "LookDown", "LookLeft", "LookRight",
        };

        public static void AHelloThenFourFrames()
        {
            Check.Equal(5, Messages.Length, "messages");
            Check.True(Messages[0] is Hello, "the first message is the hello");
            Check.Equal(4, Frames.Length, "frames");
        }

        public static void HelloDescribesTheStream()
        {
            var hello = (Hello)Messages[0];
            Check.Equal("mocap.frame/1", hello.Schema);
            Check.True(hello.IsSupported, "a supported schema");
            var expected = new Dictionary<string, int>
            {
                { Parts.Pose, 33 }, { Parts.PoseWorld, 33 }, { Parts.Face, 478 },
                { Parts.LeftHand, 21 }, { Parts.RightHand, 21 },
            };
            foreach (var part in expected) Check.Equal(part.Value, hello.Parts[part.Key], part.Key);
            Check.Equal(1280, hello.SourceWidth, "source width");
            Check.Equal(720, hello.SourceHeight, "source height");
            Check.Near(25.0, hello.SourceFps, 1e-9, "source fps");
            Check.Equal(33, hello.Names["pose"].Length, "pose names");
            Check.Equal("nose", hello.Names["pose"][0]);
            Check.Equal(21, hello.Names["hand"].Length, "hand names");
            Check.Equal("wrist", hello.Names["hand"][0]);
            CheckConnections(hello.Connections["pose"], 33, "pose");
            CheckConnections(hello.Connections["hand"], 21, "hand");
            CheckConnections(hello.Connections["face"], 478, "face");
        }

        static void CheckConnections(Connection[] lines, int points, string part)
        {
            Check.True(lines.Length > 10, part + " has connections");
            foreach (Connection line in lines)
                Check.True(line.From >= 0 && line.From < points && line.To >= 0 && line.To < points,
                           part + " connections index its landmarks");
        }

        public static void FramesCarryTheirNumberTimeAndSize()
        {
            for (int i = 0; i < Frames.Length; i++)
            {
                Frame frame = Frames[i];
                Check.Equal(1280, frame.Width, "width");
                Check.Equal(720, frame.Height, "height");
                Check.True(frame.LatencyMs >= 0, "a latency");
                if (i > 0)
                {
                    Check.True(frame.Seq > Frames[i - 1].Seq, "seq rises");
                    // t is the source's clock: 25 fps, 40 ms a frame.
                    Check.Near((frame.Seq - Frames[i - 1].Seq) * 0.04, frame.T - Frames[i - 1].T, 1e-6, "t");
                }
            }
        }

        public static void LandmarkCountsAndNullsForAbsentParts()
        {
            foreach (Frame frame in Frames)
            {
                Check.Equal(33, frame.Pose.Length, "pose");
                Check.Equal(33, frame.PoseWorld.Length, "pose_world");
                Check.Equal(478, frame.Face.Length, "face");
                Check.True(frame.LeftHand == null, "the left hand is not in view: null");
            }
            Check.True(Frames[0].RightHand == null && Frames[1].RightHand == null, "no right hand at first");
            Check.Equal(21, Frames[2].RightHand.Length, "right hand");
            Check.Equal(21, Frames[3].RightHand.Length, "right hand");
        }

        public static void LandmarkValuesAreTheTextsNumbers()
        {
            // The first pose row, read back from the text with double.Parse.
            string line = Lines[1];
            int start = line.IndexOf("\"pose\":[[", StringComparison.Ordinal) + "\"pose\":[[".Length;
            string[] row = line.Substring(start, line.IndexOf(']', start) - start).Split(',');
            Landmark nose = Frames[0].Pose[0];
            float[] parsed = { nose.X, nose.Y, nose.Z, nose.Visibility };
            for (int i = 0; i < 4; i++)
                Check.Equal((float)double.Parse(row[i], CultureInfo.InvariantCulture), parsed[i], "nose[" + i + "]");
        }

        public static void ImageLandmarksAreFractionsAndFacePointsHaveFullVisibility()
        {
            foreach (Frame frame in Frames)
            {
                foreach (Landmark point in frame.Pose)
                    Check.True(point.Visibility >= 0 && point.Visibility <= 1, "pose visibility in 0..1");
                foreach (Landmark point in frame.Face)
                {
                    Check.True(point.X > 0 && point.X < 1 && point.Y > 0 && point.Y < 1, "the face is inside the image");
                    Check.Equal(1f, point.Visibility, "face visibility");
                }
            }
        }

        public static void BonesAreTheFiftyFiveHumanoidBonesAsUnitQuaternions()
        {
            foreach (Frame frame in Frames)
            {
                Check.Equal(55, frame.Bones.Count, "bones");
                Check.True(Humanoid.Bones.All(frame.Bones.ContainsKey), "every humanoid bone");
                foreach (var bone in frame.Bones)
                    Check.Near(1.0, bone.Value.Length, 1e-6, bone.Key + " length");
                Check.True(frame.HipsPosition.HasValue, "the Hips' position");
                // A person standing: the hips stay at the rest height.
                Check.Near(Retarget.StreamRestHips, frame.HipsPosition.Value, 0.05, "Hips");
            }
        }

        public static void BlendshapesAreTheVrm0ExpressionsWithWeightsInZeroToOne()
        {
            foreach (Frame frame in Frames)
            {
                Check.Equal(string.Join(",", Expressions.OrderBy(name => name)),
                            string.Join(",", frame.Blendshapes.Keys.OrderBy(name => name)), "names");
                foreach (var weight in frame.Blendshapes)
                    Check.True(weight.Value >= 0 && weight.Value <= 1, weight.Key + " in 0..1");
            }
        }

        public static void WorldLandmarksInUnitySpaceStandUpright()
        {
            foreach (Frame frame in Frames)
            {
                Vec3 nose = Space.WorldToUnity(frame.PoseWorld[0], mirror: false);
                Vec3 leftHip = Space.WorldToUnity(frame.PoseWorld[23], mirror: false);
                Vec3 leftShoulder = Space.WorldToUnity(frame.PoseWorld[11], mirror: false);
                Vec3 rightShoulder = Space.WorldToUnity(frame.PoseWorld[12], mirror: false);
                Check.True(nose.Y > leftShoulder.Y && leftShoulder.Y > leftHip.Y, "nose above shoulder above hip");
                // The person faces the camera, as the avatar faces +Z: their own right is +X.
                Check.True(rightShoulder.X > leftShoulder.X, "the right shoulder at +X");
                Vec3 mirrored = Space.WorldToUnity(frame.PoseWorld[12], mirror: true);
                Check.True(mirrored.X < 0, "mirrored, the right shoulder at -X");

                Vec3 noseOnScreen = Space.ImageToViewport(frame.Pose[0]);
                Vec3 shoulderOnScreen = Space.ImageToViewport(frame.Pose[11]);
                Check.True(noseOnScreen.Y > shoulderOnScreen.Y, "viewport: the nose above the shoulder");
            }
        }

        public static void RootRotationsOfARecordedFrameAreUnitQuaternions()
        {
            Quat[] rotations = Humanoid.RootRotations(Frames[3].Bones);
            Check.Equal(55, rotations.Length, "rotations");
            foreach (Quat rotation in rotations) Check.Near(1.0, rotation.Length, 1e-5, "length");
        }
    }
}
