using System.Threading;

namespace Mocap.Protocol
{
    /// <summary>
    /// A one-item mailbox between two threads: the writer replaces what is there, the reader
    /// takes the newest item or null. Lock-free, so neither thread ever waits for the other: a
    /// slow main thread skips frames instead of falling behind the stream.
    /// </summary>
    public sealed class LatestSlot<T> where T : class
    {
        T item;
        long replaced;

        /// <summary>Items overwritten before anyone took them.</summary>
        public long Replaced => Interlocked.Read(ref replaced);

        public void Put(T value)
        {
            if (Interlocked.Exchange(ref item, value) != null) Interlocked.Increment(ref replaced);
        }

        /// <summary>The newest item since the last Take, or null.</summary>
        public T Take() => Interlocked.Exchange(ref item, null);
    }
}
