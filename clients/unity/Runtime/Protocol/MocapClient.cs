using System;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Mocap.Protocol
{
    public enum ConnectionState { Stopped, Connecting, Connected, WaitingToRetry }

    public sealed class MocapClientOptions
    {
        /// <summary>The server, e.g. ws://127.0.0.1:8765/ (what `mocap run` prints).</summary>
        public Uri Url = new Uri("ws://127.0.0.1:8765/");

        /// <summary>The server's token (mocap run --token / MOCAP_TOKEN), or null.</summary>
        public string Token;

        /// <summary>Send the token as ?token= in the URL instead of an Authorization header
        /// (for a proxy that drops headers; a header stays out of URL logs).</summary>
        public bool TokenInUrl;

        /// <summary>Waits between attempts: doubling from the first to the last, and back to
        /// the first once a connection opens.</summary>
        public TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(0.5);
        public TimeSpan LastRetryDelay = TimeSpan.FromSeconds(5);

        /// <summary>A message larger than this closes the connection (a frame is ~40 kB).</summary>
        public int MaxMessageBytes = 4 << 20;
    }

    /// <summary>
    /// Receives a mocap server's stream on a thread of its own, parses it there, and keeps only
    /// the newest frame for whoever polls (Unity's main thread): the reader never blocks and
    /// never falls behind. It reconnects, with back-off, whenever the connection fails or the
    /// server goes away, until disposed. Counters and state may be read from any thread.
    /// </summary>
    public sealed class MocapClient : IDisposable
    {
        readonly MocapClientOptions options;
        readonly LatestSlot<Frame> latest = new LatestSlot<Frame>();
        readonly CancellationTokenSource stopping = new CancellationTokenSource();
        Task loop;
        int state;  // ConnectionState, as an int for Interlocked and Volatile
        long framesReceived, connections, badMessages;
        volatile Hello hello;
        volatile string lastError;

        public MocapClient(MocapClientOptions options)
        {
            this.options = options ?? throw new ArgumentNullException(nameof(options));
        }

        public ConnectionState State => (ConnectionState)Volatile.Read(ref state);

        /// <summary>The last connection's hello (null before the first).</summary>
        public Hello Hello => hello;

        /// <summary>Why the last attempt or connection ended, or the last bad message.</summary>
        public string LastError => lastError;

        public long FramesReceived => Interlocked.Read(ref framesReceived);

        /// <summary>Frames that arrived but were replaced by a newer one before being taken.</summary>
        public long FramesSkipped => latest.Replaced;

        /// <summary>Connections opened so far (more than one: it reconnected).</summary>
        public long Connections => Interlocked.Read(ref connections);

        /// <summary>Messages that were not JSON of the schema; each is dropped.</summary>
        public long BadMessages => Interlocked.Read(ref badMessages);

        /// <summary>Starts connecting on a thread-pool thread and returns at once.</summary>
        public void Start()
        {
            if (loop != null) throw new InvalidOperationException("already started");
            // Task.Run: the loop and its awaits run on the pool, never on a caller's
            // synchronisation context (Unity's main thread).
            loop = Task.Run(() => RunAsync(stopping.Token));
        }

        /// <summary>The newest frame received since the last call, or null. Never blocks.</summary>
        public Frame TakeLatestFrame() => latest.Take();

        /// <summary>Closes the connection and stops reconnecting; waits up to two seconds.</summary>
        public void Dispose()
        {
            stopping.Cancel();
            try
            {
                loop?.Wait(TimeSpan.FromSeconds(2));
            }
            catch (AggregateException)
            {
                // The loop ends by cancellation; its exceptions were already reported in LastError.
            }
            // A loop still closing (a server that does not answer) keeps using the token.
            if (loop == null || loop.IsCompleted) stopping.Dispose();
        }

        async Task RunAsync(CancellationToken stop)
        {
            TimeSpan delay = options.FirstRetryDelay;
            while (!stop.IsCancellationRequested)
            {
                long opened = Connections;
                try
                {
                    await ConnectAndReceiveAsync(stop);
                }
                catch (Exception error) when (!stop.IsCancellationRequested)
                {
                    // Whatever ended this connection (refused, 401, reset, a bad frame), the loop
                    // must live on to reconnect: report it and retry.
                    lastError = Describe(error, opened: Connections > opened);
                }
                catch (Exception) { break; }  // stopping: the cancellation aborted the socket
                if (Connections > opened) delay = options.FirstRetryDelay;  // it was up: retry soon
                SetState(ConnectionState.WaitingToRetry);
                try
                {
                    await Task.Delay(delay, stop);
                }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.LastRetryDelay.Ticks));
            }
            SetState(ConnectionState.Stopped);
        }

        async Task ConnectAndReceiveAsync(CancellationToken stop)
        {
            using (var socket = new ClientWebSocket())
            using (var abort = new CancellationTokenSource())
            using (stop.Register(() => SayGoodbye(socket, abort)))
            {
                bool tokenInHeader = !string.IsNullOrEmpty(options.Token) && !options.TokenInUrl;
                if (tokenInHeader)
                    socket.Options.SetRequestHeader("Authorization", "Bearer " + options.Token);
                SetState(ConnectionState.Connecting);
                await socket.ConnectAsync(ConnectUrl(), stop);
                Interlocked.Increment(ref connections);
                SetState(ConnectionState.Connected);

                var buffer = new byte[64 * 1024];
                var message = new MemoryStream();
                string text;
                while ((text = await ReceiveTextAsync(socket, buffer, message, abort.Token)) != null)
                    Handle(text);
                if (stop.IsCancellationRequested) return;  // the server answered our goodbye
                lastError = "the server closed the connection (" + socket.CloseStatus + " "
                            + socket.CloseStatusDescription + ")";
                if (socket.State == WebSocketState.CloseReceived)
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", stop);
            }
        }

        /// <summary>Stopping: sends a close (1001, going away) so that the server sees a clean
        /// goodbye, and lets the receive loop read the server's answer; aborts after a second
        /// if there is none.</summary>
        static void SayGoodbye(ClientWebSocket socket, CancellationTokenSource abort)
        {
            abort.CancelAfter(TimeSpan.FromSeconds(1));
            if (socket.State != WebSocketState.Open) return;  // still connecting: stop cancels it
            socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "client stopping",
                                    CancellationToken.None)
                  .ContinueWith(close => close.Exception,  // observed: the abort covers a failure
                                TaskContinuationOptions.OnlyOnFaulted);
        }

        /// <summary>The next whole text message, or null when the server closes. Binary
        /// messages (none in this schema) are dropped.</summary>
        async Task<string> ReceiveTextAsync(ClientWebSocket socket, byte[] buffer,
                                            MemoryStream message, CancellationToken stop)
        {
            message.SetLength(0);
            while (true)
            {
                var part = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), stop);
                if (part.MessageType == WebSocketMessageType.Close) return null;
                message.Write(buffer, 0, part.Count);
                if (message.Length > options.MaxMessageBytes)
                    throw new InvalidDataException(
                        "a message over " + options.MaxMessageBytes + " bytes: not a mocap stream?");
                if (!part.EndOfMessage) continue;
                if (part.MessageType == WebSocketMessageType.Text)
                    return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
            }
        }

        void Handle(string text)
        {
            Message parsed;
            try
            {
                parsed = MessageParser.Parse(text);
            }
            catch (JsonException error)
            {
                Interlocked.Increment(ref badMessages);
                lastError = "a message that is not JSON: " + error.Message;
                return;
            }
            if (parsed is Hello newHello)
            {
                hello = newHello;
                if (!newHello.IsSupported)
                    lastError = "schema " + newHello.Schema + ", this client reads "
                                + Hello.SupportedSchema + ": some fields may be missing";
            }
            else if (parsed is Frame frame)
            {
                Interlocked.Increment(ref framesReceived);
                latest.Put(frame);
            }
        }

        Uri ConnectUrl()
        {
            if (string.IsNullOrEmpty(options.Token) || !options.TokenInUrl) return options.Url;
            var url = new UriBuilder(options.Url);
            string token = "token=" + Uri.EscapeDataString(options.Token);
            string query = url.Query.TrimStart('?');
            url.Query = query.Length == 0 ? token : query + "&" + token;
            return url.Uri;
        }

        void SetState(ConnectionState value) => Volatile.Write(ref state, (int)value);

        static string Describe(Exception error, bool opened)
        {
            string message = error.Message;
            for (Exception inner = error.InnerException; inner != null; inner = inner.InnerException)
                message += ": " + inner.Message;
            // Mono's (and Unity's) ClientWebSocket drops the HTTP status of a refused upgrade:
            // nothing below it means the server answered, but not with a WebSocket.
            if (!opened && error is WebSocketException && error.InnerException == null)
                message += " (the server refused the WebSocket: a missing or wrong token gets"
                           + " HTTP 401, too many clients 503)";
            return message;
        }
    }
}
