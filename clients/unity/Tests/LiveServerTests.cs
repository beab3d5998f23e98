using System;

namespace Mocap.Protocol.Tests
{
    /// <summary>
    /// MocapClient against a live `mocap replay --loop --token TOKEN` that the caller
    /// (tests/test_unity_client.py) starts AFTER this process, so the first attempts fail and
    /// the client must retry; and restarts on the same port when this process prints
    /// <see cref="RestartRequest"/>, so the client must reconnect.
    /// </summary>
    public static class LiveServerTests
    {
        public const string RestartRequest = "live: restart the server";

        static MocapClient Connect(string token, bool tokenInUrl = false)
        {
            var client = new MocapClient(new MocapClientOptions
            {
                Url = TestRunner.LiveUrl,
                Token = token,
                TokenInUrl = tokenInUrl,
                FirstRetryDelay = TimeSpan.FromSeconds(0.2),
                LastRetryDelay = TimeSpan.FromSeconds(1),
            });
            client.Start();
            return client;
        }

        static string Status(MocapClient client) =>
            client.State + ", " + client.FramesReceived + " frames, " + client.Connections
            + " connections, last error: " + client.LastError;

        public static void ReceivesFramesWithABearerTokenAndReconnects()
        {
            using (MocapClient client = Connect(TestRunner.Token))
            {
                Check.Eventually(() => client.FramesReceived >= 10, 60, () => Status(client));
                Check.Equal(ConnectionState.Connected, client.State, "state");
                Check.True(client.Hello != null && client.Hello.IsSupported, "a hello of mocap.frame/1");
                Frame frame = client.TakeLatestFrame();
                Check.True(frame != null, "a frame to take");
                Check.Equal(33, frame.Pose.Length, "pose");
                Check.Equal(478, frame.Face.Length, "face");
                Check.Equal(55, frame.Bones.Count, "bones");
                Check.Equal(0L, client.BadMessages, "bad messages");

                Console.WriteLine(RestartRequest);
                Console.Out.Flush();
                Check.Eventually(() => client.Connections >= 2, 60, () => Status(client));
                long before = client.FramesReceived;
                Check.Eventually(() => client.FramesReceived >= before + 5, 30, () => Status(client));
            }
        }

        public static void ReceivesFramesWithTheTokenInTheUrl()
        {
            using (MocapClient client = Connect(TestRunner.Token, tokenInUrl: true))
            {
                Check.Eventually(() => client.FramesReceived >= 3, 30, () => Status(client));
            }
        }

        public static void AWrongTokenIsRefusedAndRetried()
        {
            using (MocapClient client = Connect("not-the-token"))
            {
                Check.Eventually(() => client.LastError != null && client.LastError.Contains("401"), 30,
                                 () => Status(client));
                Check.Equal(0L, client.Connections, "connections");
                Check.Equal(0L, client.FramesReceived, "frames");
            }
        }

        public static void DisposeStopsTheClient()
        {
            MocapClient client = Connect(TestRunner.Token);
            Check.Eventually(() => client.FramesReceived >= 1, 30, () => Status(client));
            client.Dispose();
            Check.Equal(ConnectionState.Stopped, client.State, "state after Dispose");
        }
    }
}
