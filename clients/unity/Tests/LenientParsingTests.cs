namespace Mocap.Protocol.Tests
{
    /// <summary>What another server version might send: nulls, unknown fields and types,
    /// missing bones, another field order.</summary>
    public static class LenientParsingTests
    {
        public static void UnknownMessageTypesGiveNull()
        {
            Check.True(MessageParser.Parse("{\"type\":\"photo\",\"pose\":null}") == null, "photo: null");
            Check.True(MessageParser.Parse("{\"seq\":1}") == null, "no type: null");
            Check.True(MessageParser.Parse("[1,2]") == null, "not an object: null");
            Check.Throws<JsonException>(() => MessageParser.Parse("[1,2"), "not JSON");
            Check.Throws<JsonException>(() => MessageParser.Parse("{\"type\":\"frame\","), "cut short");
        }

        public static void TypeNeedNotComeFirst()
        {
            var frame = MessageParser.Parse("{\"seq\":3,\"t\":0.12,\"type\":\"frame\"}") as Frame;
            Check.True(frame != null, "a frame");
            Check.Equal(3L, frame.Seq);
            Check.Near(0.12, frame.T, 1e-12);
        }

        public static void NullsAndUnknownFieldsAreSkipped()
        {
            var frame = (Frame)MessageParser.Parse(
                "{\"type\":\"frame\",\"seq\":1,\"t\":0.5,\"size\":[640,480],\"future\":{\"a\":[1,{}]}," +
                "\"pose\":null,\"pose_world\":null,\"face\":[[0.5,0.25,-0.01,0.75,\"extra\",7],null,[0.1,null,0.2]]," +
                "\"left_hand\":null,\"right_hand\":null,\"latency_ms\":null,\"bones\":null,\"blendshapes\":null}");
            Check.True(frame.Pose == null && frame.PoseWorld == null && frame.LeftHand == null, "null parts");
            Check.True(frame.Bones == null && frame.Blendshapes == null && !frame.HipsPosition.HasValue, "no solver");
            Check.True(double.IsNaN(frame.LatencyMs), "no latency: NaN");
            Check.Equal(640, frame.Width);
            Check.Equal(3, frame.Face.Length, "face rows");
            Check.Near(new Vec3(0.5f, 0.25f, -0.01f), new Vec3(frame.Face[0].X, frame.Face[0].Y, frame.Face[0].Z), 0);
            Check.Equal(0.75f, frame.Face[0].Visibility, "a fourth value: visibility");
            Check.True(float.IsNaN(frame.Face[1].X), "a null row: NaN");
            Check.True(float.IsNaN(frame.Face[2].Y) && frame.Face[2].Z == 0.2f, "a null value: NaN");
        }

        public static void MissingAndMalformedBonesAreLeftOut()
        {
            var frame = (Frame)MessageParser.Parse(
                "{\"type\":\"frame\",\"bones\":{\"Hips\":[0,0,0,2],\"Head\":[0,0.70711,0,0.70711]," +
                "\"Neck\":null,\"Spine\":[1,2,3],\"Chest\":[0,0,0,0],\"Jaw\":\"x\",\"Tail\":[0,0,0,1]}," +
                "\"blendshapes\":{\"Joy\":0.25,\"Blink\":null}}");
            Check.Equal("Head,Hips,Tail", string.Join(",", System.Linq.Enumerable.OrderBy(frame.Bones.Keys, k => k)));
            Check.Near(Quat.Identity, frame.Bones["Hips"], 1e-4, "a plain array for the Hips, normalised");
            Check.Near(Quat.AngleAxis(90, new Vec3(0, 1, 0)), frame.Bones["Head"], 1e-3, "Head");
            Check.True(!frame.HipsPosition.HasValue, "no Hips position");
            Check.Equal(1, frame.Blendshapes.Count, "blendshapes without the null");
            Check.Equal(0.25f, frame.Blendshapes["Joy"]);

            Quat[] rotations = Humanoid.RootRotations(frame.Bones);
            Check.Near(frame.Bones["Head"], rotations[Humanoid.IndexOf("Head")], 1e-3, "missing parents are at rest");
        }

        public static void HipsObjectWithRotationAndPosition()
        {
            var frame = (Frame)MessageParser.Parse(
                "{\"type\":\"frame\",\"bones\":{\"Hips\":{\"position\":[0,0.8,0.01],\"scale\":[1,1,1]," +
                "\"rotation\":[0,0,0.38268,0.92388]},\"Head\":{\"position\":[1,2,3]}}}");
            Check.Near(new Vec3(0, 0.8f, 0.01f), frame.HipsPosition.Value, 1e-6, "Hips position");
            Check.Near(Quat.AngleAxis(45, new Vec3(0, 0, 1)), frame.Bones["Hips"], 1e-3, "Hips rotation");
            Check.True(!frame.Bones.ContainsKey("Head"), "a bone without a rotation is left out");
        }

        public static void HelloWithoutASourceSizeYet()
        {
            var hello = (Hello)MessageParser.Parse(
                "{\"type\":\"hello\",\"schema\":\"mocap.frame/2\",\"parts\":{\"pose\":33,\"face\":null}," +
                "\"source\":{\"width\":null,\"height\":null,\"fps\":30.0},\"names\":null,\"new\":[1]}");
            Check.Equal(0, hello.SourceWidth, "width not known yet");
            Check.Near(30.0, hello.SourceFps, 0);
            Check.Equal(1, hello.Parts.Count, "parts without the null");
            Check.True(!hello.IsSupported, "another schema is flagged");
            Check.Equal(0, hello.Names.Count, "no names");
        }
    }
}
