using System;

namespace Mocap.Protocol
{
    /// <summary>A 3-vector. Like UnityEngine.Vector3, without depending on UnityEngine.</summary>
    public struct Vec3
    {
        public float X, Y, Z;

        public Vec3(float x, float y, float z) { X = x; Y = y; Z = z; }

        public static Vec3 operator +(Vec3 a, Vec3 b) => new Vec3(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
        public static Vec3 operator -(Vec3 a, Vec3 b) => new Vec3(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
        public static Vec3 operator *(Vec3 a, float s) => new Vec3(a.X * s, a.Y * s, a.Z * s);

        public override string ToString() => "(" + X + ", " + Y + ", " + Z + ")";
    }

    /// <summary>
    /// A rotation quaternion (x, y, z, w), the stream's and UnityEngine.Quaternion's layout.
    /// The product is Hamilton's, as Unity's <c>a * b</c>: first b, then a.
    /// </summary>
    public struct Quat
    {
        public float X, Y, Z, W;

        public Quat(float x, float y, float z, float w) { X = x; Y = y; Z = z; W = w; }

        public static Quat Identity => new Quat(0f, 0f, 0f, 1f);

        /// <summary>A turn of angleDegrees about axis, as Unity's Quaternion.AngleAxis.</summary>
        public static Quat AngleAxis(float angleDegrees, Vec3 axis)
        {
            double half = angleDegrees * Math.PI / 360.0;
            double length = Math.Sqrt(axis.X * axis.X + axis.Y * axis.Y + axis.Z * axis.Z);
            float s = (float)(Math.Sin(half) / length);
            return new Quat(axis.X * s, axis.Y * s, axis.Z * s, (float)Math.Cos(half));
        }

        public static Quat operator *(Quat a, Quat b) => new Quat(
            a.W * b.X + a.X * b.W + a.Y * b.Z - a.Z * b.Y,
            a.W * b.Y - a.X * b.Z + a.Y * b.W + a.Z * b.X,
            a.W * b.Z + a.X * b.Y - a.Y * b.X + a.Z * b.W,
            a.W * b.W - a.X * b.X - a.Y * b.Y - a.Z * b.Z);

        public float Length => (float)Math.Sqrt(X * X + Y * Y + Z * Z + W * W);

        /// <summary>The inverse rotation (the conjugate: rotations are unit quaternions).</summary>
        public Quat Inverse() => new Quat(-X, -Y, -Z, W);

        /// <summary>The same rotation at length 1 (the stream rounds to five decimals).</summary>
        public Quat Normalized()
        {
            float length = Length;
            return length > 0f ? new Quat(X / length, Y / length, Z / length, W / length) : Identity;
        }

        /// <summary>v turned by this rotation, as Unity's <c>q * v</c>.</summary>
        public Vec3 Rotate(Vec3 v)
        {
            Quat turned = this * new Quat(v.X, v.Y, v.Z, 0f) * Inverse();
            return new Vec3(turned.X, turned.Y, turned.Z);
        }

        /// <summary>The angle in degrees between two rotations (0 to 180).</summary>
        public static float AngleDegrees(Quat a, Quat b)
        {
            Quat a1 = a.Normalized(), b1 = b.Normalized();
            double dot = Math.Abs(a1.X * b1.X + a1.Y * b1.Y + a1.Z * b1.Z + a1.W * b1.W);
            return (float)(2.0 * Math.Acos(Math.Min(dot, 1.0)) * 180.0 / Math.PI);
        }

        public override string ToString() => "(" + X + ", " + Y + ", " + Z + ", " + W + ")";
    }
}
