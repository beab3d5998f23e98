using System.Collections.Generic;

namespace Mocap.Protocol
{
    /// <summary>
    /// One landmark as MediaPipe gives it. Image landmarks (Pose, Face, hands): X right and Y DOWN
    /// as fractions of the image's width and height, Z relative depth (smaller is nearer, about
    /// the scale of X). World landmarks (PoseWorld): metres, origin between the hips, X toward the
    /// image's right, Y DOWN, Z away from the camera. <see cref="Space"/> converts both to Unity.
    /// A coordinate the server sent as null is NaN.
    /// </summary>
    public struct Landmark
    {
        public float X, Y, Z;

        /// <summary>0..1 for pose points; 1 for face and hand points, which carry none.</summary>
        public float Visibility;

        public Landmark(float x, float y, float z, float visibility)
        {
            X = x; Y = y; Z = z; Visibility = visibility;
        }
    }

    /// <summary>A line to draw between landmarks From and To (indices into a part).</summary>
    public struct Connection
    {
        public int From, To;

        public Connection(int from, int to) { From = from; To = to; }
    }

    /// <summary>A message of schema mocap.frame/1: a <see cref="Hello"/> or a <see cref="Frame"/>.</summary>
    public abstract class Message { }

    /// <summary>The first message on every connection: what the stream carries.</summary>
    public sealed class Hello : Message
    {
        public const string SupportedSchema = "mocap.frame/1";

        public string Schema { get; internal set; }

        /// <summary>Landmark count of each part: "pose" 33, "pose_world" 33, "face" 478 (or
        /// 468), "left_hand" and "right_hand" 21.</summary>
        public Dictionary<string, int> Parts { get; } = new Dictionary<string, int>();

        /// <summary>The source's frame size in pixels (0 when not known yet) and frame rate.</summary>
        public int SourceWidth { get; internal set; }
        public int SourceHeight { get; internal set; }
        public double SourceFps { get; internal set; }

        /// <summary>Names: "pose" (33 landmarks), "hand" (21) and, from servers that send the
        /// face's ARKit weights, "arkit" (the 51 of <see cref="ArkitNames.All"/>).</summary>
        public Dictionary<string, string[]> Names { get; } = new Dictionary<string, string[]>();

        /// <summary>Lines to draw: "pose", "hand" and "face" (the face's contours).</summary>
        public Dictionary<string, Connection[]> Connections { get; } =
            new Dictionary<string, Connection[]>();

        public bool IsSupported => Schema == SupportedSchema;
    }

    /// <summary>
    /// One processed camera frame. A part that was not found is null; Bones, HipsPosition and
    /// Blendshapes are null when the server runs no avatar solver (mocap run --solve or --vmc);
    /// Arkit is null when the frame has no face.
    /// Immutable once parsed, so it can cross from the network thread to Unity's main thread.
    /// </summary>
    public sealed class Frame : Message
    {
        /// <summary>Frame number of the run, from 0; a gap means this client missed frames.</summary>
        public long Seq { get; internal set; }

        /// <summary>Seconds since the run started, on the source's clock (not wall-clock time).</summary>
        public double T { get; internal set; }

        /// <summary>The source frame's size in pixels (before any downscaling).</summary>
        public int Width { get; internal set; }
        public int Height { get; internal set; }

        /// <summary>Milliseconds from capture to encoding on the server; NaN when not sent.</summary>
        public double LatencyMs { get; internal set; } = double.NaN;

        public Landmark[] Pose { get; internal set; }
        public Landmark[] PoseWorld { get; internal set; }
        public Landmark[] Face { get; internal set; }

        /// <summary>The subject's own left and right hands.</summary>
        public Landmark[] LeftHand { get; internal set; }
        public Landmark[] RightHand { get; internal set; }

        /// <summary>
        /// Unity HumanBodyBones name -> local rotation (relative to the parent bone), in Unity's
        /// space, relative to a T-pose whose rotations are all identity (VRM0's normalised rest
        /// pose); unit length. <see cref="Humanoid"/> and <see cref="Retarget"/> put them on an
        /// avatar. A bone the server did not send is absent.
        /// </summary>
        public Dictionary<string, Quat> Bones { get; internal set; }

        /// <summary>The Hips' position from the avatar's root, metres, on mocap's 1.6 m rest
        /// avatar (see <see cref="Space.HipsOffset"/>).</summary>
        public Vec3? HipsPosition { get; internal set; }

        /// <summary>VRM0 expression name (Blink, A, Joy, LookUp, ...) -> weight 0..1.</summary>
        public Dictionary<string, float> Blendshapes { get; internal set; }

        /// <summary>
        /// The face's 51 ARKit blendshape weights (Perfect Sync), ARKit name in camelCase
        /// (eyeBlinkLeft, jawOpen, mouthSmileLeft, ...; <see cref="ArkitNames.All"/>) -> weight 0..1,
        /// from MediaPipe's blendshape model; with or without the solver. Null when the frame has
        /// no face, the server has the model off ([model] arkit = false), or it is older.
        /// <see cref="ArkitBlendShapeMap"/> puts them on a mesh's blend shapes by name.
        /// </summary>
        public Dictionary<string, float> Arkit { get; internal set; }
    }

    /// <summary>The part names of the stream, as its JSON fields and Hello.Parts spell them.</summary>
    public static class Parts
    {
        public const string Pose = "pose";
        public const string PoseWorld = "pose_world";
        public const string Face = "face";
        public const string LeftHand = "left_hand";
        public const string RightHand = "right_hand";
    }
}
