using System;
using System.Collections.Generic;
using Mocap.Protocol;
using UnityEngine;

namespace Mocap
{
    /// <summary>
    /// Drives a humanoid avatar from a mocap server's WebSocket stream (mocap run --solve or
    /// --vmc): the stream's bones on the Animator's humanoid bones, its expressions on a
    /// SkinnedMeshRenderer's blend shapes, and the face's 51 ARKit weights (Perfect Sync) on the
    /// blend shapes named like them. The network and the JSON parsing run on a thread of the
    /// client's; this component only takes the newest frame each frame, never waiting.
    ///
    /// The avatar must stand in its T-pose (arms straight out, facing +Z) when this starts: that
    /// pose is captured as the rest pose the stream's rotations turn away from.
    /// </summary>
    public sealed class MocapReceiver : MonoBehaviour
    {
        [Serializable]
        public struct BlendShapeName
        {
            [Tooltip("The stream's expression name (VRM0): Blink, Blink_L, Blink_R, A, I, U, E, O, Joy, LookUp, ...")]
            public string expression;
            [Tooltip("The blend shape on the mesh that shows it")]
            public string blendShape;
        }

        [Header("Server (what `mocap run` prints)")]
        public string host = "127.0.0.1";
        public int port = 8765;
        [Tooltip("The server's token, if it has one. Empty: the MOCAP_TOKEN environment variable, which keeps it out of the scene file")]
        public string token = "";
        [Tooltip("Send the token as ?token= in the URL instead of an Authorization header")]
        public bool tokenInUrl;

        [Header("Avatar")]
        [Tooltip("A humanoid Animator, in T-pose at Start")]
        public Animator animator;
        [Tooltip("Move the hips down when the legs fold (seated, crouching)")]
        public bool applyHipsPosition;

        [Header("Expressions")]
        public SkinnedMeshRenderer face;
        [Tooltip("Expressions whose blend shape has another name; the others are looked up by their own name")]
        public List<BlendShapeName> blendShapeNames = new List<BlendShapeName>();

        [Header("ARKit blend shapes (Perfect Sync)")]
        [Tooltip("Meshes whose blend shapes are named like ARKit's (eyeBlinkLeft or EyeBlinkLeft): the face, and its teeth, eyelashes... Each takes the stream's ARKit weights by name")]
        public SkinnedMeshRenderer[] arkitMeshes = new SkinnedMeshRenderer[0];

        MocapClient client;
        Frame frame;  // the newest frame, applied every LateUpdate until a newer one comes
        readonly Transform[] bones = new Transform[Humanoid.Bones.Length];
        readonly Quat[] restRotations = new Quat[Humanoid.Bones.Length];  // relative to the avatar's root
        readonly Quat[] rootRotations = new Quat[Humanoid.Bones.Length];  // reused every frame
        Vector3 restHips;
        readonly Dictionary<string, int> blendShapeIndex = new Dictionary<string, int>();
        readonly List<ArkitTarget> arkitTargets = new List<ArkitTarget>();

        /// <summary>A mesh and its blend shapes for the ARKit names, found once at Start.</summary>
        sealed class ArkitTarget
        {
            public ArkitBlendShapeMap Map;
            public Action<int, float> SetWeight;  // made once: no allocation per frame
        }

        public ConnectionState State => client?.State ?? ConnectionState.Stopped;
        public string LastError => client?.LastError;
        public Frame LatestFrame => frame;

        /// <summary>The newest frame's 51 ARKit weights by name (0..1), null without a face.</summary>
        public IReadOnlyDictionary<string, float> ArkitWeights => frame?.Arkit;

        void Start()
        {
            if (animator != null) CaptureRestPose();
            foreach (SkinnedMeshRenderer mesh in arkitMeshes) if (mesh != null) AddArkitTarget(mesh);
            string secret = string.IsNullOrEmpty(token) ? Environment.GetEnvironmentVariable("MOCAP_TOKEN") : token;
            client = new MocapClient(new MocapClientOptions
            {
                Url = new Uri("ws://" + host + ":" + port + "/"),
                Token = secret,
                TokenInUrl = tokenInUrl,
            });
            client.Start();
        }

        void Update()
        {
            frame = client.TakeLatestFrame() ?? frame;
        }

        // After the Animator has written its pose (between Update and LateUpdate), so that an
        // Animator with a controller does not overwrite the streamed pose.
        void LateUpdate()
        {
            if (frame == null) return;
            if (animator != null && frame.Bones != null) ApplyBones(frame);
            if (face != null && frame.Blendshapes != null) ApplyBlendshapes(frame);
            foreach (ArkitTarget target in arkitTargets) target.Map.Apply(frame.Arkit, target.SetWeight);
        }

        void OnDestroy()
        {
            client?.Dispose();
        }

        void CaptureRestPose()
        {
            if (!animator.isHuman)
            {
                Debug.LogError("MocapReceiver: " + animator.name + " is not a humanoid; its bones are not driven");
                animator = null;
                return;
            }
            Quaternion toRoot = Quaternion.Inverse(animator.transform.rotation);
            for (int i = 0; i < bones.Length; i++)
            {
                // A bone this avatar lacks (UpperChest, Jaw, toes, ...) stays null: its turn is
                // still in its children's root rotations.
                var bone = (HumanBodyBones)Enum.Parse(typeof(HumanBodyBones), Humanoid.Bones[i]);
                bones[i] = animator.GetBoneTransform(bone);
                if (bones[i] != null) restRotations[i] = ToQuat(toRoot * bones[i].rotation);
            }
            Transform hips = bones[Humanoid.IndexOf("Hips")];
            if (hips != null) restHips = animator.transform.InverseTransformPoint(hips.position);
        }

        void ApplyBones(Frame pose)
        {
            Humanoid.RootRotations(pose.Bones, rootRotations);
            Quaternion root = animator.transform.rotation;
            // Parents first (Humanoid.Bones' order): each bone's world rotation is set outright.
            for (int i = 0; i < bones.Length; i++)
            {
                if (bones[i] == null || !pose.Bones.ContainsKey(Humanoid.Bones[i])) continue;
                bones[i].rotation = root * ToUnity(Retarget.RootRotation(rootRotations[i], restRotations[i]));
            }
            Transform hips = bones[Humanoid.IndexOf("Hips")];
            if (applyHipsPosition && hips != null && pose.HipsPosition.HasValue)
            {
                Vec3 position = Retarget.HipsPosition(pose.HipsPosition.Value, ToVec3(restHips));
                hips.position = animator.transform.TransformPoint(position.X, position.Y, position.Z);
            }
        }

        void ApplyBlendshapes(Frame expressions)
        {
            foreach (var weight in expressions.Blendshapes)
            {
                int index = BlendShapeIndex(weight.Key);
                if (index >= 0) face.SetBlendShapeWeight(index, Retarget.BlendShapeWeight(weight.Value));
            }
        }

        /// <summary>The mesh's blend shape for an expression, or -1; looked up once per name.</summary>
        int BlendShapeIndex(string expression)
        {
            if (blendShapeIndex.TryGetValue(expression, out int index)) return index;
            string shape = expression;
            foreach (BlendShapeName name in blendShapeNames)
                if (name.expression == expression) shape = name.blendShape;
            index = face.sharedMesh.GetBlendShapeIndex(shape);
            blendShapeIndex[expression] = index;
            return index;
        }

        void AddArkitTarget(SkinnedMeshRenderer renderer)
        {
            Mesh mesh = renderer.sharedMesh;
            var names = new string[mesh.blendShapeCount];
            for (int i = 0; i < names.Length; i++) names[i] = mesh.GetBlendShapeName(i);
            var map = new ArkitBlendShapeMap(names);
            if (map.Count == 0)
                Debug.LogWarning("MocapReceiver: " + renderer.name + " has no blend shape named like ARKit's (eyeBlinkLeft, jawOpen, ...)");
            arkitTargets.Add(new ArkitTarget { Map = map, SetWeight = renderer.SetBlendShapeWeight });
        }

        static Quat ToQuat(Quaternion q) => new Quat(q.x, q.y, q.z, q.w);
        static Quaternion ToUnity(Quat q) => new Quaternion(q.X, q.Y, q.Z, q.W);
        static Vec3 ToVec3(Vector3 v) => new Vec3(v.x, v.y, v.z);
    }
}
