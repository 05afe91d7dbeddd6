using System.Globalization;
using EligibilityGateway.Audit;

namespace EligibilityGateway.Pages;

/// <summary>One stacked part of each bar: an outcome, or a council.</summary>
internal sealed record ChartSeries(string? Key, string Label, string Colour)
{
    /// <summary>The label with a capital letter, for the legend and the table.</summary>
    public string Heading => Label.Length == 0 ? Label : char.ToUpperInvariant(Label[0]) + Label[1..];
}

/// <summary>A drawn rectangle of the chart, its numbers already written for SVG (invariant culture).</summary>
internal sealed record ChartSegment(string X, string Y, string Width, string Height, string Colour, string Tooltip);

/// <summary>A horizontal grid line and its label on the y axis.</summary>
internal sealed record ChartTick(string Y, string Label);

/// <summary>A day's label under the x axis.</summary>
internal sealed record ChartDayLabel(string X, string Label);

/// <summary>
/// A stacked bar chart of checks per day, computed here and drawn by <c>Shared/_AuditChart.cshtml</c> as inline SVG:
/// no script (the pages' CSP runs none but our own files) and no style attribute (the CSP allows only our style
/// sheets), only SVG presentation attributes. The same figures are given as a table for people who cannot see it.
/// </summary>
internal sealed class AuditChart
{
    public const int Width = 720;
    public const int Height = 220;
    private const int Left = 48;
    private const int Right = 8;
    private const int Top = 10;
    private const int Bottom = 36;

    private AuditChart(string id, string title, IReadOnlyList<DateOnly> days, IReadOnlyList<ChartSeries> series, long[][] counts)
    {
        Id = id;
        Title = title;
        Days = days;
        Series = series;
        Counts = counts;
        Total = counts.Sum(day => day.Sum());
        SeriesTotals = [.. series.Select((_, s) => counts.Sum(day => day[s]))];
        Draw();
    }

    /// <summary>The element id prefix (<c>{Id}-title</c>, <c>{Id}-desc</c>).</summary>
    public string Id { get; }

    public string Title { get; }

    public IReadOnlyList<DateOnly> Days { get; }

    public IReadOnlyList<ChartSeries> Series { get; }

    /// <summary>Counts[day][series].</summary>
    public long[][] Counts { get; }

    public long Total { get; }

    public IReadOnlyList<long> SeriesTotals { get; }

    public IReadOnlyList<ChartSegment> Segments { get; private set; } = [];

    public IReadOnlyList<ChartTick> Ticks { get; private set; } = [];

    public IReadOnlyList<ChartDayLabel> DayLabels { get; private set; } = [];

    public static string PlotLeft => Number(Left);

    public static string PlotRight => Number(Width - Right);

    public static string PlotBottom => Number(Height - Bottom);

    public static string LabelY => Number(Height - Bottom + 16);

    /// <summary>The text alternative: the period, the total and each series' total, in words.</summary>
    public string Description =>
        Total == 0
            ? $"No checks from {LongDay(Days[0])} to {LongDay(Days[^1])}."
            : $"{Count(Total)} from {LongDay(Days[0])} to {LongDay(Days[^1])}: "
              + string.Join(", ", Series.Select((s, i) => $"{SeriesTotals[i].ToString("N0", CultureInfo.InvariantCulture)} {s.Label}").Where((_, i) => SeriesTotals[i] > 0))
              + ". The table below gives the figures for each day.";

    /// <summary>Builds a chart of <paramref name="counts"/> over every day from <paramref name="first"/> to <paramref name="last"/>.</summary>
    /// <param name="keyOf">Which series a count belongs to (its outcome, or its council).</param>
    public static AuditChart Build(
        string id, string title, DateOnly first, DateOnly last, IReadOnlyList<ChartSeries> series, Func<AuditDailyCount, string?> keyOf, IEnumerable<AuditDailyCount> counts)
    {
        var days = Enumerable.Range(0, last.DayNumber - first.DayNumber + 1).Select(first.AddDays).ToList();
        var grid = days.Select(_ => new long[series.Count]).ToArray();
        foreach (var count in counts)
        {
            var day = count.Day.DayNumber - first.DayNumber;
            var s = series.ToList().FindIndex(x => x.Key == keyOf(count));
            if (day >= 0 && day < days.Count && s >= 0)
            {
                grid[day][s] += count.Count;
            }
        }

        return new AuditChart(id, title, days, series, grid);
    }

    /// <summary>
    /// An SVG <c>text</c> element, encoded. Written here because Razor reserves <c>&lt;text&gt;</c> for its own use and
    /// will not render one with attributes.
    /// </summary>
    public static Microsoft.AspNetCore.Html.HtmlString Label(string x, string y, string anchor, string text, int dx = 0, int dy = 0) =>
        new(string.Create(
            CultureInfo.InvariantCulture,
            $"<text x=\"{x}\" y=\"{y}\" dx=\"{dx}\" dy=\"{dy}\" text-anchor=\"{anchor}\">{System.Net.WebUtility.HtmlEncode(text)}</text>"));

    /// <summary>A date as the chart's table writes it: 22 Nov 2026.</summary>
    public static string LongDay(DateOnly day) => day.ToString("d MMM yyyy", CultureInfo.InvariantCulture);

    public static string Count(long checks) => checks == 1 ? "1 check" : checks.ToString("N0", CultureInfo.InvariantCulture) + " checks";

    private void Draw()
    {
        var maxDay = Counts.Select(day => day.Sum()).DefaultIfEmpty(0).Max();
        var step = NiceStep(Math.Max(maxDay, 1) / 4.0);
        var top = step * (long)Math.Ceiling(Math.Max(maxDay, 1) / (double)step);
        double plotWidth = Width - Left - Right, plotHeight = Height - Top - Bottom;
        var band = plotWidth / Days.Count;
        var barWidth = Math.Max(band * 0.7, 1);

        var segments = new List<ChartSegment>();
        for (var d = 0; d < Days.Count; d++)
        {
            var x = Left + (d * band) + ((band - barWidth) / 2);
            double stacked = 0;
            for (var s = 0; s < Series.Count; s++)
            {
                var value = Counts[d][s];
                if (value == 0)
                {
                    continue;
                }

                var height = value / (double)top * plotHeight;
                var y = Top + plotHeight - stacked - height;
                stacked += height;
                segments.Add(new ChartSegment(Number(x), Number(y), Number(barWidth), Number(height), Series[s].Colour, $"{LongDay(Days[d])}: {Series[s].Label}, {Count(value)}"));
            }
        }

        Segments = segments;
        Ticks = [.. Enumerable.Range(0, (int)(top / step) + 1).Select(i => new ChartTick(Number(Top + plotHeight - (i * step / (double)top * plotHeight)), (i * step).ToString("N0", CultureInfo.InvariantCulture)))];
        var every = (int)Math.Ceiling(Days.Count / 12.0);
        DayLabels = [.. Days.Select((day, d) => (day, d)).Where(p => p.d % every == 0)
            .Select(p => new ChartDayLabel(Number(Left + (p.d * band) + (band / 2)), p.day.ToString("d MMM", CultureInfo.InvariantCulture)))];
    }

    /// <summary>The smallest of 1, 2 or 5 times a power of ten that is at least <paramref name="rough"/>.</summary>
    private static long NiceStep(double rough)
    {
        for (long magnitude = 1; ; magnitude *= 10)
        {
            foreach (var m in new long[] { 1, 2, 5 })
            {
                if (m * magnitude >= rough)
                {
                    return m * magnitude;
                }
            }
        }
    }

    private static string Number(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
