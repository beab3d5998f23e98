using System;
using System.Collections.Generic;

namespace Mocap.Protocol
{
    /// <summary>
    /// JSON text of schema mocap.frame/1 -> <see cref="Hello"/> or <see cref="Frame"/>.
    ///
    /// Lenient where a newer or older server may differ: unknown fields are skipped, null means
    /// absent for any field, a bone or expression that is not sent is simply missing, and a
    /// message of another type gives null. Text that is not JSON throws <see cref="JsonException"/>.
    /// </summary>
    public static class MessageParser
    {
        /// <summary>The message, or null for a type this client does not know.</summary>
        public static Message Parse(string json)
        {
            switch (ReadType(json))
            {
                case "hello": return ParseHello(json);
                case "frame": return ParseFrame(json);
                default: return null;
            }
        }

        // A first pass for "type": it stops at once when "type" comes first, as the server
        // writes it, and skips other values before it otherwise (JSON objects are unordered).
        static string ReadType(string json)
        {
            var reader = new JsonReader(json);
            if (reader.Peek() != JsonKind.Object)
            {
                reader.Skip();  // JSON, but not a message: checked, then ignored
                reader.End();
                return null;
            }
            reader.BeginObject();
            while (reader.NextProperty(out string name))
            {
                if (name == "type" && reader.Peek() == JsonKind.String) return reader.ReadString();
                reader.Skip();
            }
            return null;
        }

        public static Frame ParseFrame(string json)
        {
            var frame = new Frame();
            var reader = new JsonReader(json);
            reader.BeginObject();
            while (reader.NextProperty(out string name))
            {
                if (reader.ReadNull()) continue;  // an absent part, or a field not sent
                switch (name)
                {
                    case "seq": frame.Seq = (long)reader.ReadNumber(); break;
                    case "t": frame.T = reader.ReadNumber(); break;
                    case "latency_ms": frame.LatencyMs = reader.ReadNumber(); break;
                    case "size":
                        int[] size = ReadInts(reader);
                        if (size.Length == 2) { frame.Width = size[0]; frame.Height = size[1]; }
                        break;
                    case Parts.Pose: frame.Pose = ReadLandmarks(reader); break;
                    case Parts.PoseWorld: frame.PoseWorld = ReadLandmarks(reader); break;
                    case Parts.Face: frame.Face = ReadLandmarks(reader); break;
                    case Parts.LeftHand: frame.LeftHand = ReadLandmarks(reader); break;
                    case Parts.RightHand: frame.RightHand = ReadLandmarks(reader); break;
                    case "bones": ReadBones(reader, frame); break;
                    case "blendshapes": frame.Blendshapes = ReadWeights(reader); break;
                    case "arkit": frame.Arkit = ReadWeights(reader); break;
                    default: reader.Skip(); break;
                }
            }
            reader.End();
            return frame;
        }

        public static Hello ParseHello(string json)
        {
            var hello = new Hello();
            var reader = new JsonReader(json);
            reader.BeginObject();
            while (reader.NextProperty(out string name))
            {
                if (reader.ReadNull()) continue;
                switch (name)
                {
                    case "schema": hello.Schema = reader.ReadString(); break;
                    case "parts": ReadTable(reader, hello.Parts, r => (int)r.ReadNumber()); break;
                    case "source": ReadSource(reader, hello); break;
                    case "names": ReadTable(reader, hello.Names, ReadStrings); break;
                    case "connections": ReadTable(reader, hello.Connections, ReadConnections); break;
                    default: reader.Skip(); break;
                }
            }
            reader.End();
            return hello;
        }

        /// <summary>{"part": value, ...} into table; null values are left out.</summary>
        static void ReadTable<T>(JsonReader reader, Dictionary<string, T> table,
                                 Func<JsonReader, T> readValue)
        {
            reader.BeginObject();
            while (reader.NextProperty(out string part))
                if (!reader.ReadNull()) table[part] = readValue(reader);
        }

        static void ReadSource(JsonReader reader, Hello hello)
        {
            reader.BeginObject();
            while (reader.NextProperty(out string name))
            {
                if (reader.ReadNull()) continue;  // width and height are null before a frame
                switch (name)
                {
                    case "width": hello.SourceWidth = (int)reader.ReadNumber(); break;
                    case "height": hello.SourceHeight = (int)reader.ReadNumber(); break;
                    case "fps": hello.SourceFps = reader.ReadNumber(); break;
                    default: reader.Skip(); break;
                }
            }
        }

        /// <summary>[[x, y, z(, visibility)], ...]; a null row or value becomes NaN.</summary>
        static Landmark[] ReadLandmarks(JsonReader reader)
        {
            var points = new List<Landmark>(33);
            reader.BeginArray();
            while (reader.NextElement())
                points.Add(ReadLandmark(reader));
            return points.ToArray();
        }

        static Landmark ReadLandmark(JsonReader reader)
        {
            var point = new Landmark(float.NaN, float.NaN, float.NaN, 1f);
            if (reader.ReadNull()) return point;
            reader.BeginArray();
            for (int i = 0; reader.NextElement(); i++)
            {
                if (i > 3) { reader.Skip(); continue; }
                float value = (float)reader.ReadNumberOrNull();
                if (i == 0) point.X = value;
                else if (i == 1) point.Y = value;
                else if (i == 2) point.Z = value;
                else point.Visibility = value;
            }
            return point;
        }

        /// <summary>{"Head": [x, y, z, w], ..., "Hips": {"rotation": [...], "position": [...]}}</summary>
        static void ReadBones(JsonReader reader, Frame frame)
        {
            var bones = new Dictionary<string, Quat>(64);
            reader.BeginObject();
            while (reader.NextProperty(out string bone))
            {
                if (reader.Peek() != JsonKind.Object)
                {
                    if (TryReadQuat(reader, out Quat rotation)) bones[bone] = rotation;
                    continue;
                }
                reader.BeginObject();
                while (reader.NextProperty(out string field))
                {
                    if (field == "rotation")
                    {
                        if (TryReadQuat(reader, out Quat rotation)) bones[bone] = rotation;
                    }
                    else if (field == "position" && bone == "Hips")
                    {
                        if (TryReadVec3(reader, out Vec3 position)) frame.HipsPosition = position;
                    }
                    else reader.Skip();
                }
            }
            frame.Bones = bones;
        }

        /// <summary>A unit quaternion from [x, y, z, w] (normalised: the stream rounds to five
        /// decimals); false for anything else, read and dropped.</summary>
        static bool TryReadQuat(JsonReader reader, out Quat rotation)
        {
            float[] v = ReadFloats(reader);
            rotation = Quat.Identity;
            if (v == null || v.Length != 4 || !AllFinite(v)) return false;
            var raw = new Quat(v[0], v[1], v[2], v[3]);
            if (raw.Length == 0f) return false;
            rotation = raw.Normalized();
            return true;
        }

        static bool TryReadVec3(JsonReader reader, out Vec3 position)
        {
            float[] v = ReadFloats(reader);
            bool valid = v != null && v.Length == 3 && AllFinite(v);
            position = valid ? new Vec3(v[0], v[1], v[2]) : default(Vec3);
            return valid;
        }

        /// <summary>An array of numbers (null entries as NaN); null for any other value.</summary>
        static float[] ReadFloats(JsonReader reader)
        {
            if (reader.Peek() != JsonKind.Array)
            {
                reader.Skip();
                return null;
            }
            var values = new List<float>(4);
            reader.BeginArray();
            while (reader.NextElement())
                values.Add((float)reader.ReadNumberOrNull());
            return values.ToArray();
        }

        static bool AllFinite(float[] values)
        {
            foreach (float value in values)
                if (float.IsNaN(value) || float.IsInfinity(value)) return false;
            return true;
        }

        /// <summary>{"name": number, ...}; null weights are left out.</summary>
        static Dictionary<string, float> ReadWeights(JsonReader reader)
        {
            var weights = new Dictionary<string, float>();
            ReadTable(reader, weights, r => (float)r.ReadNumber());
            return weights;
        }

        static int[] ReadInts(JsonReader reader)
        {
            var values = new List<int>(2);
            reader.BeginArray();
            while (reader.NextElement())
                values.Add((int)reader.ReadNumber());
            return values.ToArray();
        }

        static string[] ReadStrings(JsonReader reader)
        {
            var values = new List<string>(33);
            reader.BeginArray();
            while (reader.NextElement())
                values.Add(reader.ReadString());
            return values.ToArray();
        }

        static Connection[] ReadConnections(JsonReader reader)
        {
            var lines = new List<Connection>(64);
            reader.BeginArray();
            while (reader.NextElement())
            {
                int[] pair = ReadInts(reader);
                if (pair.Length == 2) lines.Add(new Connection(pair[0], pair[1]));
            }
            return lines.ToArray();
        }
    }
}
