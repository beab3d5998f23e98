using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Mocap.Protocol.Tests
{
    /// <summary>
    /// The face's ARKit weights: parsed from the recorded stream (Tests/data/stream.jsonl, whose
    /// frames carry the weights MediaPipe's FaceLandmarker gives on the same video frames), and
    /// put on a mesh's blend shapes by name.
    /// </summary>
    public static class ArkitTests
    {
        static readonly string[] Lines = TestRunner.StreamLines();

        /// <summary>The "arkit" object of a message's text, read with string operations only
        /// (its values are plain numbers), not with the parser under test.</summary>
        static Dictionary<string, double> ArkitInText(string line)
        {
            const string Field = "\"arkit\":{";
            int start = line.IndexOf(Field, StringComparison.Ordinal) + Field.Length;
            string body = line.Substring(start, line.IndexOf('}', start) - start);
            return body.Split(',').Select(pair => pair.Split(':')).ToDictionary(
                pair => pair[0].Trim('"'), pair => double.Parse(pair[1], CultureInfo.InvariantCulture));
        }

        public static void TheHelloNamesTheFiftyOneWeightsInOrder()
        {
            var hello = (Hello)MessageParser.Parse(Lines[0]);
            Check.Equal(51, ArkitNames.All.Length, "names");
            Check.Equal(string.Join(",", ArkitNames.All), string.Join(",", hello.Names["arkit"]), "hello's names");
        }

        public static void EveryFrameCarriesTheFiftyOneWeightsOfTheText()
        {
            foreach (string line in Lines.Skip(1))
            {
                var frame = (Frame)MessageParser.Parse(line);
                Dictionary<string, double> text = ArkitInText(line);
                Check.Equal(string.Join(",", ArkitNames.All), string.Join(",", frame.Arkit.Keys), "names in order");
                foreach (var weight in text)
                {
                    Check.Equal((float)weight.Value, frame.Arkit[weight.Key], weight.Key);
                    Check.True(weight.Value >= 0 && weight.Value <= 1, weight.Key + " in 0..1");
                }
            }
            // The person squints a little throughout and smiles in the last two frames.
            var last = (Frame)MessageParser.Parse(Lines[4]);
            Check.True(last.Arkit["eyeSquintLeft"] > 0.3f && last.Arkit["mouthSmileLeft"] > 0.2f, "squint, smile");
        }

        public static void InOrderFollowsTheNamesAndMarksMissingWeights()
        {
            var frame = (Frame)MessageParser.Parse(Lines[1]);
            float[] values = ArkitNames.InOrder(frame.Arkit);
            Check.Equal(frame.Arkit["browDownLeft"], values[0], "first");
            Check.Equal(frame.Arkit["jawOpen"], values[Array.IndexOf(ArkitNames.All, "jawOpen")], "jawOpen");
            Check.True(ArkitNames.InOrder(null).All(float.IsNaN), "no face: all NaN");
            var partial = new Dictionary<string, float> { { "jawOpen", 0.5f } };
            Check.True(float.IsNaN(ArkitNames.InOrder(partial)[0]), "a missing weight: NaN");
        }

        public static void NullWithoutAFace()
        {
            var frame = (Frame)MessageParser.Parse("{\"type\":\"frame\",\"seq\":1,\"face\":null,\"arkit\":null}");
            Check.True(frame.Arkit == null, "arkit null");
            var older = (Frame)MessageParser.Parse("{\"type\":\"frame\",\"seq\":1}");
            Check.True(older.Arkit == null, "a server that sends no arkit");
        }

        public static void BlendShapesAreFoundByNameInEitherCase()
        {
            var shapes = new List<string>
            {
                "Basis", "EyeBlinkLeft", "eyeBlinkRight", "blendShape1.JawOpen", "MOUTHSMILELEFT",
                "Joy", "mouthSmile_R", "jawOpen",
            };
            var map = new ArkitBlendShapeMap(shapes);
            Check.Equal(4, map.Count, "ARKit shapes found");
            Check.Equal(1, map.IndexOf("eyeBlinkLeft"), "PascalCase");
            Check.Equal(2, map.IndexOf("eyeBlinkRight"), "camelCase");
            Check.Equal(3, map.IndexOf("jawOpen"), "a prefixed name; the first of a name wins");
            Check.Equal(4, map.IndexOf("mouthSmileLeft"), "any case");
            Check.Equal(-1, map.IndexOf("mouthSmileRight"), "not an ARKit name: none");
            Check.Equal(-1, map.IndexOf("Joy"), "not an ARKit weight");
        }

        public static void ARealFramesWeightsLandOnTheirBlendShapes()
        {
            // A Perfect Sync mesh: every ARKit name in PascalCase, after a VRM expression.
            var shapes = new List<string> { "Joy" };
            shapes.AddRange(ArkitNames.All.Select(n => char.ToUpperInvariant(n[0]) + n.Substring(1)));
            var map = new ArkitBlendShapeMap(shapes);
            Check.Equal(51, map.Count, "all found");
            var frame = (Frame)MessageParser.Parse(Lines[4]);
            var set = new Dictionary<string, float>();
            map.Apply(frame.Arkit, (index, weight) => set.Add(shapes[index], weight));
            Check.Equal(51, set.Count, "weights set");
            Check.Near(100.0 * frame.Arkit["mouthSmileLeft"], set["MouthSmileLeft"], 1e-4, "MouthSmileLeft (0..100)");
            Check.Near(100.0 * frame.Arkit["eyeSquintRight"], set["EyeSquintRight"], 1e-4, "EyeSquintRight");
            foreach (var weight in frame.Arkit)
            {
                string shape = char.ToUpperInvariant(weight.Key[0]) + weight.Key.Substring(1);
                Check.Near(100.0 * weight.Value, set[shape], 1e-4, shape);
            }
            map.Apply(null, (index, weight) => throw new Exception("no face: nothing set"));
        }
    }
}
