using System;
using System.Collections.Generic;

namespace Mocap.Protocol
{
    /// <summary>
    /// The face's ARKit blendshape weights (Perfect Sync): the 51 names the stream's "arkit" field
    /// carries, and <see cref="ArkitBlendShapeMap"/>, which finds a mesh's blend shapes by them.
    /// </summary>
    public static class ArkitNames
    {
        /// <summary>The 51 names in the stream's order (ARKit's 52 without tongueOut), camelCase
        /// as ARKit spells them; the hello's names["arkit"] lists them too.</summary>
        public static readonly string[] All =
        {
            "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
            "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
            "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
            "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
            "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
            "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
            "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
            "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
            "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
            "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
            "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
            "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft",
            "noseSneerRight",
        };

        /// <summary>A frame's weights in <see cref="All"/>' order; NaN for a weight it lacks
        /// (all NaN when the frame has no face).</summary>
        public static float[] InOrder(IReadOnlyDictionary<string, float> weights)
        {
            var values = new float[All.Length];
            for (int i = 0; i < All.Length; i++)
                values[i] = weights != null && weights.TryGetValue(All[i], out float w) ? w : float.NaN;
            return values;
        }
    }

    /// <summary>
    /// Which blend shape of a mesh shows each ARKit weight: the one with the weight's name,
    /// ignoring case, so ARKit's camelCase ("eyeBlinkLeft") and the PascalCase of VRoid's and
    /// many Perfect Sync models ("EyeBlinkLeft") both match. A prefix up to the last '.' is
    /// ignored, as some FBX exports name their blend shapes ("blendShape1.eyeBlinkLeft").
    /// Built once from the mesh's blend shape names, in index order (Mesh.GetBlendShapeName).
    /// </summary>
    public sealed class ArkitBlendShapeMap
    {
        readonly Dictionary<string, int> indexByName =
            new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        public ArkitBlendShapeMap(IReadOnlyList<string> blendShapeNames)
        {
            var wanted = new HashSet<string>(ArkitNames.All, StringComparer.OrdinalIgnoreCase);
            for (int index = 0; index < blendShapeNames.Count; index++)
            {
                string name = blendShapeNames[index];
                string bare = name.Substring(name.LastIndexOf('.') + 1);
                // The first shape of a name wins, as Mesh.GetBlendShapeIndex finds the first.
                if (wanted.Contains(bare) && !indexByName.ContainsKey(bare)) indexByName[bare] = index;
            }
        }

        /// <summary>How many of the 51 names the mesh has a blend shape for.</summary>
        public int Count => indexByName.Count;

        /// <summary>The blend shape index for an ARKit name (any case), or -1.</summary>
        public int IndexOf(string arkitName) =>
            indexByName.TryGetValue(arkitName, out int index) ? index : -1;

        /// <summary>Calls setWeight(blend shape index, Unity weight 0..100) for each of the
        /// frame's weights the mesh has a blend shape for; nothing for a frame without a face.</summary>
        public void Apply(IReadOnlyDictionary<string, float> weights, Action<int, float> setWeight)
        {
            if (weights == null) return;
            foreach (var weight in weights)
            {
                if (indexByName.TryGetValue(weight.Key, out int index))
                    setWeight(index, Retarget.BlendShapeWeight(weight.Value));
            }
        }
    }
}
