using System;
using System.Collections.Generic;
using System.Globalization;

namespace Mocap.Protocol.Tests
{
    public static class JsonReaderTests
    {
        static double Number(string text)
        {
            var reader = new JsonReader(text);
            double value = reader.ReadNumber();
            reader.End();
            return value;
        }

        public static void NumbersAreReadAsDoubleParseReadsThem()
        {
            // The fast path (integer mantissa / power of ten) must be exactly double.Parse's
            // result; exponents and long mantissas go to double.Parse itself.
            var random = new Random(7);
            var texts = new List<string> { "0", "-0", "1", "-1", "0.5", "1280", "0.99987", "-0.00001",
                "7e-05", "-1.5E+2", "2e3", "0.12345678901234567890", "123456789012345678", "1.0" };
            for (int i = 0; i < 2000; i++)
                texts.Add((random.NextDouble() * 4 - 2).ToString("F" + random.Next(0, 9), CultureInfo.InvariantCulture));
            foreach (string text in texts)
                Check.Equal(double.Parse(text, CultureInfo.InvariantCulture), Number(text), text);
        }

        public static void MalformedNumbersThrow()
        {
            foreach (string text in new[] { "-", ".5", "1.", "1e", "1e+", "--1", "x" })
                Check.Throws<JsonException>(() => Number(text), text);
        }

        public static void StringsWithEscapes()
        {
            var reader = new JsonReader("\"plain\" \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\"");
            Check.Equal("plain", reader.ReadString());
            Check.Equal("a\"b\\c/d\n\u00e9\ud83d\ude00", reader.ReadString());
        }

        public static void WalksObjectsAndArraysAndSkipsValues()
        {
            var reader = new JsonReader(
                " { \"skip\" : {\"a\": [1, {\"b\": null}, \"x]\"], \"c\": true}, \"list\": [1, 2, 3], \"flag\": false } ");
            var seen = new List<string>();
            double sum = 0;
            reader.BeginObject();
            while (reader.NextProperty(out string name))
            {
                seen.Add(name);
                if (name == "list")
                {
                    reader.BeginArray();
                    while (reader.NextElement()) sum += reader.ReadNumber();
                }
                else if (name == "flag") Check.Equal(false, reader.ReadBool());
                else reader.Skip();
            }
            reader.End();
            Check.Equal("skip,list,flag", string.Join(",", seen));
            Check.Equal(6.0, sum);
        }

        public static void EmptyContainers()
        {
            var reader = new JsonReader("{\"a\": [], \"b\": {}}");
            reader.BeginObject();
            Check.True(reader.NextProperty(out string a) && a == "a", "property a");
            reader.BeginArray();
            Check.True(!reader.NextElement(), "an empty array");
            Check.True(reader.NextProperty(out string b) && b == "b", "property b");
            reader.BeginObject();
            Check.True(!reader.NextProperty(out _), "an empty object");
            Check.True(!reader.NextProperty(out _), "the end of the outer object");
            reader.End();
        }

        public static void MalformedJsonThrows()
        {
            var broken = new[]
            {
                "{\"a\": 1,}", "{\"a\": 1 \"b\": 2}", "[1, 2,]", "[,1]", "{\"a\" 1}", "{\"a\": 1",
                "{\"a\": \"unterminated}", "{\"a\": nul}", "{\"a\": 1} extra", "",
            };
            foreach (string text in broken)
                Check.Throws<JsonException>(() => SkipWhole(text), text);
        }

        static void SkipWhole(string text)
        {
            var reader = new JsonReader(text);
            reader.Skip();
            reader.End();
        }
    }
}
