using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Mocap.Protocol
{
    /// <summary>The kind of the next JSON value.</summary>
    public enum JsonKind { Object, Array, String, Number, True, False, Null }

    /// <summary>Thrown for text that is not the JSON a reader expected.</summary>
    public sealed class JsonException : Exception
    {
        public JsonException(string message, int position)
            : base(message + " at character " + position) { }
    }

    /// <summary>
    /// A forward-only JSON reader: the caller walks objects and arrays and reads each value as
    /// the type it expects, skipping what it does not know.
    ///
    /// Why not a library: Unity's JsonUtility reads neither dictionaries (bones, blendshapes) nor
    /// nested arrays (landmarks), System.Text.Json is in neither Unity nor mono, and Newtonsoft
    /// would be a dependency of every project that installs this client. Why not a tree of
    /// objects: a frame has about 1,600 numbers, and boxing each of them 30 times a second feeds
    /// Unity's garbage collector for nothing; this reader writes them straight into float arrays.
    ///
    /// Usage: <c>BeginObject(); while (NextProperty(out name)) { read or Skip() one value }</c>,
    /// and likewise <c>BeginArray(); while (NextElement()) { ... }</c>.
    /// </summary>
    public sealed class JsonReader
    {
        // Exact powers of ten: a decimal with at most 15 significant digits and 22 decimals is
        // then converted with one correctly rounded division, like double.Parse would.
        static readonly double[] PowersOfTen =
        {
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        };
        const long MaxExactMantissa = 999999999999999L;  // 15 digits: exact in a double

        readonly string text;
        // One entry per open object or array: whether it has had an item yet (then a comma
        // must come before the next one).
        readonly Stack<bool> hasItems = new Stack<bool>();
        int position;

        public JsonReader(string text)
        {
            this.text = text ?? throw new ArgumentNullException(nameof(text));
        }

        public JsonKind Peek()
        {
            SkipWhitespace();
            if (position >= text.Length) throw Error("unexpected end of text");
            char c = text[position];
            switch (c)
            {
                case '{': return JsonKind.Object;
                case '[': return JsonKind.Array;
                case '"': return JsonKind.String;
                case 't': return JsonKind.True;
                case 'f': return JsonKind.False;
                case 'n': return JsonKind.Null;
            }
            if (c == '-' || (c >= '0' && c <= '9')) return JsonKind.Number;
            throw Error("unexpected '" + c + "'");
        }

        public void BeginObject()
        {
            Expect('{');
            hasItems.Push(false);
        }

        /// <summary>Moves to the next property of the current object; false at its end.</summary>
        public bool NextProperty(out string name)
        {
            name = null;
            if (!NextItem('}')) return false;
            name = ReadString();
            Expect(':');
            return true;
        }

        public void BeginArray()
        {
            Expect('[');
            hasItems.Push(false);
        }

        /// <summary>Moves to the next element of the current array; false at its end.</summary>
        public bool NextElement() => NextItem(']');

        public string ReadString()
        {
            Expect('"');
            StringBuilder escaped = null;  // only strings with escapes pay for a builder
            int start = position;
            while (true)
            {
                if (position >= text.Length) throw Error("unterminated string");
                char c = text[position];
                if (c == '"')
                {
                    string plain = text.Substring(start, position - start);
                    position++;
                    return escaped == null ? plain : escaped.Append(plain).ToString();
                }
                if (c == '\\')
                {
                    escaped = escaped ?? new StringBuilder();
                    escaped.Append(text, start, position - start);
                    position++;
                    escaped.Append(ReadEscape());
                    start = position;
                    continue;
                }
                position++;
            }
        }

        public double ReadNumber()
        {
            SkipWhitespace();
            int start = position;
            bool negative = AcceptHere('-');
            long mantissa = 0;
            int digits = 0, decimals = 0;
            bool exact = true;
            for (; position < text.Length && IsDigit(text[position]); position++, digits++)
                exact = Accumulate(ref mantissa, text[position]) && exact;
            if (AcceptHere('.'))
            {
                for (; position < text.Length && IsDigit(text[position]); position++, decimals++)
                    exact = Accumulate(ref mantissa, text[position]) && exact;
                if (decimals == 0) throw Error("digits expected after '.'");
            }
            if (digits == 0) throw Error("a number expected");
            if (AcceptHere('e') || AcceptHere('E'))
            {
                if (!AcceptHere('+')) AcceptHere('-');
                int exponentDigits = 0;
                for (; position < text.Length && IsDigit(text[position]); position++)
                    exponentDigits++;
                if (exponentDigits == 0) throw Error("digits expected in the exponent");
                exact = false;  // rare in the stream (tiny rotations): leave them to double.Parse
            }
            if (exact && decimals < PowersOfTen.Length)
            {
                double value = mantissa / PowersOfTen[decimals];
                return negative ? -value : value;
            }
            return double.Parse(text.Substring(start, position - start),
                                NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        /// <summary>A number, or NaN for null (the stream writes a lost value as null).</summary>
        public double ReadNumberOrNull() => ReadNull() ? double.NaN : ReadNumber();

        public bool ReadBool()
        {
            if (Peek() == JsonKind.True) { ExpectWord("true"); return true; }
            ExpectWord("false");
            return false;
        }

        /// <summary>Reads a null and returns true, or returns false and reads nothing.</summary>
        public bool ReadNull()
        {
            if (Peek() != JsonKind.Null) return false;
            ExpectWord("null");
            return true;
        }

        /// <summary>Reads and discards one value of any kind.</summary>
        public void Skip()
        {
            switch (Peek())
            {
                case JsonKind.Object:
                    BeginObject();
                    while (NextProperty(out _)) Skip();
                    break;
                case JsonKind.Array:
                    BeginArray();
                    while (NextElement()) Skip();
                    break;
                case JsonKind.String: ReadString(); break;
                case JsonKind.Number: ReadNumber(); break;
                case JsonKind.Null: ExpectWord("null"); break;
                default: ReadBool(); break;
            }
        }

        /// <summary>Checks that nothing but whitespace follows the value read.</summary>
        public void End()
        {
            SkipWhitespace();
            if (position != text.Length) throw Error("text after the value");
        }

        bool NextItem(char close)
        {
            if (hasItems.Count == 0) throw Error("not inside an object or array");
            SkipWhitespace();
            if (Accept(close))
            {
                hasItems.Pop();
                return false;
            }
            if (hasItems.Pop()) Expect(',');
            hasItems.Push(true);
            return true;
        }

        static bool IsDigit(char c) => c >= '0' && c <= '9';

        static bool Accumulate(ref long mantissa, char digit)
        {
            if (mantissa > MaxExactMantissa / 10) return false;
            mantissa = mantissa * 10 + (digit - '0');
            return true;
        }

        string ReadEscape()
        {
            if (position >= text.Length) throw Error("unterminated escape");
            char c = text[position++];
            switch (c)
            {
                case '"': return "\"";
                case '\\': return "\\";
                case '/': return "/";
                case 'b': return "\b";
                case 'f': return "\f";
                case 'n': return "\n";
                case 'r': return "\r";
                case 't': return "\t";
                case 'u':
                    if (position + 4 > text.Length) throw Error("short \\u escape");
                    int code;
                    if (!int.TryParse(text.Substring(position, 4), NumberStyles.HexNumber,
                                      CultureInfo.InvariantCulture, out code))
                        throw Error("bad \\u escape");
                    position += 4;
                    return ((char)code).ToString();
            }
            throw Error("bad escape '\\" + c + "'");
        }

        void ExpectWord(string word)
        {
            if (string.CompareOrdinal(text, position, word, 0, word.Length) != 0)
                throw Error("'" + word + "' expected");
            position += word.Length;
        }

        void Expect(char c)
        {
            if (!Accept(c)) throw Error("'" + c + "' expected");
        }

        bool Accept(char c)
        {
            SkipWhitespace();
            return AcceptHere(c);
        }

        bool AcceptHere(char c)
        {
            if (position >= text.Length || text[position] != c) return false;
            position++;
            return true;
        }

        void SkipWhitespace()
        {
            while (position < text.Length)
            {
                char c = text[position];
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
                position++;
            }
        }

        JsonException Error(string message) => new JsonException(message, position);
    }
}
