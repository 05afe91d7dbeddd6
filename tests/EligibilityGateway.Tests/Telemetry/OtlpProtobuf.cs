using System.Buffers.Binary;
using System.Text;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>One exported span, as the test reads it.</summary>
internal sealed record OtlpSpan(
    string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, int StatusCode, string StatusMessage,
    IReadOnlyDictionary<string, object?> Attributes);

/// <summary>One data point of a sum, gauge or histogram: its metric, attributes and value (the count, for a histogram).</summary>
internal sealed record OtlpMetricPoint(string Service, string Metric, IReadOnlyDictionary<string, object?> Attributes, double Value, double? Sum);

/// <summary>One exported log record: its body is the formatted message.</summary>
internal sealed record OtlpLogRecord(string Service, string Scope, int Severity, string Body, string TraceId, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>
/// Reads the OTLP/HTTP protobuf bodies (opentelemetry-proto's ExportTraceServiceRequest, ExportMetricsServiceRequest
/// and ExportLogsServiceRequest) with the protobuf wire format alone, field numbers as in the .proto files.
/// </summary>
internal static class OtlpProtobuf
{
    public static List<OtlpSpan> Spans(byte[] body)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Messages(body, 1))
        {
            var service = ServiceName(resourceSpans);
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                var scope = ScopeName(scopeSpans);
                foreach (var span in Messages(scopeSpans, 2))
                {
                    var status = Messages(span, 15).FirstOrDefault();
                    spans.Add(new OtlpSpan(
                        service,
                        scope,
                        Hex(Bytes(span, 1)),
                        Hex(Bytes(span, 2)),
                        Hex(Bytes(span, 4)),
                        Text(span, 5),
                        (int)Varint(span, 6),
                        status is null ? 0 : (int)Varint(status, 3),
                        status is null ? string.Empty : Text(status, 2),
                        Attributes(span, 9)));
                }
            }
        }

        return spans;
    }

    public static List<OtlpMetricPoint> MetricPoints(byte[] body)
    {
        var points = new List<OtlpMetricPoint>();
        foreach (var resourceMetrics in Messages(body, 1))
        {
            var service = ServiceName(resourceMetrics);
            foreach (var scopeMetrics in Messages(resourceMetrics, 2))
            {
                foreach (var metric in Messages(scopeMetrics, 2))
                {
                    var name = Text(metric, 1);
                    // gauge = 5, sum = 7: NumberDataPoint (attributes 7, as_double 4, as_int 6).
                    foreach (var data in Messages(metric, 5).Concat(Messages(metric, 7)))
                    {
                        foreach (var point in Messages(data, 1))
                        {
                            var value = Fields(point).Where(f => f.Number is 4 or 6).Select(f => f.Number == 4
                                ? BitConverter.Int64BitsToDouble((long)f.Fixed)
                                : (double)(long)f.Fixed).FirstOrDefault();
                            points.Add(new OtlpMetricPoint(service, name, Attributes(point, 7), value, null));
                        }
                    }

                    // histogram = 9: HistogramDataPoint (attributes 9, count 4, sum 5).
                    foreach (var data in Messages(metric, 9))
                    {
                        foreach (var point in Messages(data, 1))
                        {
                            var fields = Fields(point).ToList();
                            var count = fields.Where(f => f.Number == 4).Select(f => (double)f.Fixed).FirstOrDefault();
                            var sum = fields.Where(f => f.Number == 5).Select(f => (double?)BitConverter.Int64BitsToDouble((long)f.Fixed)).FirstOrDefault();
                            points.Add(new OtlpMetricPoint(service, name, Attributes(point, 9), count, sum));
                        }
                    }
                }
            }
        }

        return points;
    }

    public static List<OtlpLogRecord> Logs(byte[] body)
    {
        var logs = new List<OtlpLogRecord>();
        foreach (var resourceLogs in Messages(body, 1))
        {
            var service = ServiceName(resourceLogs);
            foreach (var scopeLogs in Messages(resourceLogs, 2))
            {
                var scope = ScopeName(scopeLogs);
                foreach (var record in Messages(scopeLogs, 2))
                {
                    var bodyValue = Messages(record, 5).Select(AnyValue).FirstOrDefault();
                    logs.Add(new OtlpLogRecord(
                        service, scope, (int)Varint(record, 2), bodyValue?.ToString() ?? string.Empty, Hex(Bytes(record, 9)), Attributes(record, 6)));
                }
            }
        }

        return logs;
    }

    private static string ServiceName(byte[] resourceThing)
    {
        var resource = Messages(resourceThing, 1).FirstOrDefault();
        return resource is not null && Attributes(resource, 1).TryGetValue("service.name", out var name) ? name?.ToString() ?? string.Empty : string.Empty;
    }

    private static string ScopeName(byte[] scopeThing)
    {
        var scope = Messages(scopeThing, 1).FirstOrDefault();
        return scope is null ? string.Empty : Text(scope, 1);
    }

    private static Dictionary<string, object?> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var keyValue in Messages(message, field))
        {
            var value = Messages(keyValue, 2).FirstOrDefault();
            attributes[Text(keyValue, 1)] = value is null ? null : AnyValue(value);
        }

        return attributes;
    }

    private static object? AnyValue(byte[] value)
    {
        foreach (var f in Fields(value))
        {
            switch (f.Number)
            {
                case 1: return Encoding.UTF8.GetString(f.Bytes);
                case 2: return f.Fixed != 0;
                case 3: return (long)f.Fixed;
                case 4: return BitConverter.Int64BitsToDouble((long)f.Fixed);
                case 5: return Messages(f.Bytes, 1).Select(AnyValue).ToList();
                case 6: return Attributes(f.Bytes, 1);
                case 7: return f.Bytes;
            }
        }

        return null;
    }

    private static IEnumerable<byte[]> Messages(byte[] message, int field) =>
        Fields(message).Where(f => f.Number == field && f.WireType == 2).Select(f => f.Bytes).ToList();

    private static byte[] Bytes(byte[] message, int field) => Messages(message, field).FirstOrDefault() ?? [];

    private static string Text(byte[] message, int field) => Encoding.UTF8.GetString(Bytes(message, field));

    private static ulong Varint(byte[] message, int field) => Fields(message).Where(f => f.Number == field).Select(f => f.Fixed).FirstOrDefault();

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private readonly record struct Field(int Number, int WireType, ulong Fixed, byte[] Bytes);

    /// <summary>Every field of <paramref name="message"/>: varints and fixed-width numbers in Fixed, length-delimited in Bytes.</summary>
    private static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    fields.Add(new Field(number, wireType, ReadVarint(message, ref position), []));
                    break;
                case 1:
                    fields.Add(new Field(number, wireType, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(position, 8)), []));
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    fields.Add(new Field(number, wireType, 0, message.AsSpan(position, length).ToArray()));
                    position += length;
                    break;
                case 5:
                    fields.Add(new Field(number, wireType, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(position, 4)), []));
                    position += 4;
                    break;
                default:
                    throw new FormatException($"Unexpected protobuf wire type {wireType} for field {number}.");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(byte[] message, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
    }
}
