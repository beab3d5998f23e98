namespace Mocap.Protocol
{
    /// <summary>
    /// MediaPipe's landmark spaces -> Unity's (left-handed, +X right, +Y up, +Z forward).
    /// Bones and blendshapes need no conversion: the stream sends them in Unity's space already
    /// (see <see cref="Retarget"/> to put them on an avatar).
    /// </summary>
    public static class Space
    {
        /// <summary>
        /// An image landmark (X right, Y down, fractions of the image) -> a Unity viewport point
        /// (X right, Y UP, 0..1; Camera.ViewportToWorldPoint takes it). Z stays MediaPipe's
        /// relative depth, smaller nearer. For pixels, multiply by Frame.Width and Height.
        /// </summary>
        public static Vec3 ImageToViewport(Landmark point) => new Vec3(point.X, 1f - point.Y, point.Z);

        /// <summary>
        /// A world landmark (metres, origin between the hips, X to the image's right, Y DOWN,
        /// Z away from the camera: right-handed) -> Unity metres for an avatar facing +Z (toward
        /// the camera), origin between its hips. Unmirrored, all three axes flip: the subject's
        /// own right hand ends at +X, the avatar's right. mirror = true keeps X: the subject's
        /// right hand ends at the avatar's left, as in a mirror, which is what the stream's bones
        /// do with the server's solver.mirror on (its default).
        /// </summary>
        public static Vec3 WorldToUnity(Landmark point, bool mirror) =>
            new Vec3(mirror ? point.X : -point.X, -point.Y, -point.Z);
    }

    /// <summary>The stream's humanoid pose -> an avatar whose rest pose is a T-pose.</summary>
    public static class Retarget
    {
        /// <summary>The Hips' position at rest on mocap's own avatar (mocap/solve/humanoid.py):
        /// the stream moves it only down, when the legs fold.</summary>
        public static readonly Vec3 StreamRestHips = new Vec3(0f, 0.85f, 0f);

        /// <summary>
        /// A bone's new rotation relative to the avatar's root. streamed: the bone's root-space
        /// rotation from <see cref="Humanoid.RootRotations"/>; rest: the avatar bone's rotation
        /// relative to the avatar's root while the avatar stood in its T-pose, facing +Z.
        ///
        /// The stream's rotations are turns away from a T-pose whose bones all have identity
        /// rotations (VRM0's normalised avatar). A rig's bones usually have other axes at rest;
        /// applying the turn in the avatar's root space, before the rest orientation, moves the
        /// bone the same way whatever its axes. For a rig with identity rest rotations this is
        /// the streamed rotation itself; as a local rotation it is
        /// restLocal * (rest^-1 * streamedLocal * rest).
        /// </summary>
        public static Quat RootRotation(Quat streamed, Quat rest) => streamed * rest;

        /// <summary>
        /// The Hips' new position relative to the avatar's root: its rest position moved as far
        /// as the stream's Hips moved from <see cref="StreamRestHips"/>, scaled by the two hip
        /// heights (mocap's avatar is 1.6 m tall; yours may not be).
        /// </summary>
        public static Vec3 HipsPosition(Vec3 streamed, Vec3 restHips) =>
            restHips + (streamed - StreamRestHips) * (restHips.Y / StreamRestHips.Y);

        /// <summary>A stream weight (0..1) -> a Unity blend shape weight (0..100).</summary>
        public static float BlendShapeWeight(float weight) =>
            100f * (weight < 0f ? 0f : weight > 1f ? 1f : weight);
    }
}
