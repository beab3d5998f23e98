using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;

namespace Mocap.Protocol.Tests
{
    /// <summary>
    /// A tiny test runner, so that the tests need nothing but mono (tests/test_unity_client.py
    /// compiles and runs them). Every public static method of a test class is a test, run in
    /// declaration order; a test fails by throwing.
    ///
    ///   mono Tests.exe recorded STREAM.jsonl   the offline tests, on a recorded stream
    ///   mono Tests.exe live URL TOKEN          the client against a live server
    ///   mono Tests.exe hierarchy               print "bone parent" lines (parent "-" for none)
    ///   mono Tests.exe arkit                   print the 51 ARKit names, one a line
    /// </summary>
    public static class TestRunner
    {
        static readonly Type[] OfflineTests =
        {
            typeof(JsonReaderTests), typeof(RecordedStreamTests), typeof(LenientParsingTests),
            typeof(ConversionTests), typeof(LatestSlotTests), typeof(ArkitTests),
        };
        static readonly Type[] LiveTests = { typeof(LiveServerTests) };

        public static string StreamPath { get; private set; }

        /// <summary>The recorded stream's messages, one text a line (blank lines left out).</summary>
        public static string[] StreamLines() =>
            File.ReadAllLines(StreamPath).Where(line => line.Length > 0).ToArray();
        public static Uri LiveUrl { get; private set; }
        public static string Token { get; private set; }

        public static int Main(string[] args)
        {
            string mode = args.Length > 0 ? args[0] : "";
            if (mode == "recorded" && args.Length == 2)
            {
                StreamPath = args[1];
                return Run(OfflineTests);
            }
            if (mode == "live" && args.Length == 3)
            {
                LiveUrl = new Uri(args[1]);
                Token = args[2];
                return Run(LiveTests);
            }
            if (mode == "hierarchy")
            {
                for (int i = 0; i < Humanoid.Bones.Length; i++)
                {
                    int parent = Humanoid.Parents[i];
                    Console.WriteLine(Humanoid.Bones[i] + " " + (parent < 0 ? "-" : Humanoid.Bones[parent]));
                }
                return 0;
            }
            if (mode == "arkit")
            {
                foreach (string name in ArkitNames.All) Console.WriteLine(name);
                return 0;
            }
            Console.Error.WriteLine("usage: Tests.exe recorded STREAM.jsonl | live URL TOKEN | hierarchy | arkit");
            return 2;
        }

        static int Run(IEnumerable<Type> classes)
        {
            int passed = 0, failed = 0;
            foreach (Type type in classes)
            {
                var tests = type.GetMethods(BindingFlags.Public | BindingFlags.Static)
                                .Where(m => m.GetParameters().Length == 0 && m.ReturnType == typeof(void))
                                .OrderBy(m => m.MetadataToken);
                foreach (MethodInfo test in tests)
                {
                    string name = type.Name + "." + test.Name;
                    try
                    {
                        test.Invoke(null, null);
                        passed++;
                        Console.WriteLine("ok   " + name);
                    }
                    catch (TargetInvocationException error)
                    {
                        failed++;
                        Console.WriteLine("FAIL " + name + ": " + error.InnerException);
                    }
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }
    }

    /// <summary>Assertions that say what they expected.</summary>
    public static class Check
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new Exception("expected: " + what);
        }

        public static void Equal<T>(T expected, T actual, string what = "value")
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new Exception(what + ": expected " + expected + ", got " + actual);
        }

        public static void Near(double expected, double actual, double tolerance, string what = "value")
        {
            if (!(Math.Abs(expected - actual) <= tolerance))
                throw new Exception(what + ": expected " + expected + " +- " + tolerance + ", got " + actual);
        }

        public static void Near(Vec3 expected, Vec3 actual, double tolerance, string what = "vector")
        {
            Near(expected.X, actual.X, tolerance, what + ".X");
            Near(expected.Y, actual.Y, tolerance, what + ".Y");
            Near(expected.Z, actual.Z, tolerance, what + ".Z");
        }

        /// <summary>Same rotation (q and -q are the same rotation).</summary>
        public static void Near(Quat expected, Quat actual, double toleranceDegrees, string what = "rotation")
        {
            float angle = Quat.AngleDegrees(expected, actual);
            if (!(angle <= toleranceDegrees))
                throw new Exception(what + ": expected " + expected + ", got " + actual + " (" + angle + " degrees apart)");
        }

        public static void Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException)
            {
                return;
            }
            throw new Exception("expected " + typeof(TException).Name + ": " + what);
        }

        /// <summary>Waits up to timeoutSeconds for condition, polling every 20 ms.</summary>
        public static void Eventually(Func<bool> condition, double timeoutSeconds, Func<string> what)
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
            while (!condition())
            {
                if (DateTime.UtcNow > deadline)
                    throw new Exception("not within " + timeoutSeconds + " s: " + what());
                System.Threading.Thread.Sleep(20);
            }
        }
    }
}
