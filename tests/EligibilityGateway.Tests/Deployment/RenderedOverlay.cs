using System.Collections.Concurrent;
using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// An overlay as <c>kubectl kustomize</c> renders it, which is what <c>kubectl apply -k</c> sends to the cluster:
/// patches merged, components applied, generators run and their hash-suffixed names put in every reference. Where
/// <see cref="KustomizeTree"/> checks the files as written, this checks the result.
/// </summary>
internal sealed class RenderedOverlay
{
    private static readonly ConcurrentDictionary<string, Lazy<RenderedOverlay>> Rendered = new(StringComparer.Ordinal);

    private RenderedOverlay(string relativeDirectory, IReadOnlyList<Manifest> objects)
    {
        RelativeDirectory = relativeDirectory;
        Objects = objects;
    }

    /// <summary>Relative to <c>k8s/</c>, e.g. <c>overlays/production</c>.</summary>
    public string RelativeDirectory { get; }

    public IReadOnlyList<Manifest> Objects { get; }

    /// <summary>The gateway's Deployment.</summary>
    public Manifest Gateway => Single("Deployment", "gateway");

    /// <summary>The gateway's container in its Deployment.</summary>
    public YamlMappingNode GatewayContainer => Gateway.Containers().Single(c => c.Scalar("name") == "gateway");

    /// <summary>Deployments and StatefulSets: everything that runs pods.</summary>
    public IReadOnlyList<Manifest> Workloads => Objects.Where(m => m.Kind is "Deployment" or "StatefulSet").ToList();

    /// <summary>Renders <c>k8s/<paramref name="relativeDirectory"/></c> once per test run.</summary>
    public static RenderedOverlay Of(string relativeDirectory) =>
        Rendered.GetOrAdd(relativeDirectory, directory => new Lazy<RenderedOverlay>(() => Render(directory))).Value;

    public IReadOnlyList<Manifest> OfKind(string kind) => Objects.Where(m => m.Kind == kind).ToList();

    public Manifest Single(string kind, string name) =>
        Objects.SingleOrDefault(m => m.Kind == kind && m.Name == name)
        ?? throw new InvalidOperationException($"k8s/{RelativeDirectory} renders no {kind} '{name}'; it renders {string.Join(", ", Objects)}.");

    /// <summary>The NetworkPolicies whose pod selector matches pods carrying <paramref name="podLabels"/>.</summary>
    public IReadOnlyList<Manifest> PoliciesSelecting(IReadOnlyDictionary<string, string> podLabels) =>
        OfKind("NetworkPolicy").Where(p => Selects(p.Document.At("spec.podSelector"), podLabels)).ToList();

    /// <summary>
    /// Whether a label selector matches <paramref name="labels"/>; an empty selector matches every pod. Selectors with
    /// <c>matchExpressions</c> are refused rather than guessed at: none is written here, and a check must not pass on
    /// a selector it cannot read.
    /// </summary>
    public static bool Selects(YamlNode? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector.Mappings("matchExpressions").Count > 0)
        {
            throw new NotSupportedException($"matchExpressions are not read by these checks: {selector}");
        }

        return selector.StringMap("matchLabels").All(l => labels.GetValueOrDefault(l.Key) == l.Value);
    }

    private static RenderedOverlay Render(string relativeDirectory)
    {
        var directory = Path.Combine(RepositoryRoot.Path, "k8s", relativeDirectory);
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(directory);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                "These checks render the overlays with 'kubectl kustomize' (Kustomize v5, kubectl 1.27 or later), which is not on PATH; ./scripts/test.sh installs it.", e);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl kustomize k8s/{relativeDirectory} did not finish within a minute.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"kubectl kustomize k8s/{relativeDirectory} failed ({process.ExitCode}); it needs Kustomize v5 (kubectl 1.27 or later):\n{error.Result}");
            }

            var stream = new YamlStream();
            using var reader = new StringReader(output.Result);
            stream.Load(reader);
            var objects = stream.Documents
                .Select(d => d.RootNode)
                .OfType<YamlMappingNode>()
                .Select((document, index) => new Manifest($"kubectl kustomize k8s/{relativeDirectory}", index, document))
                .ToList();
            return new RenderedOverlay(relativeDirectory, objects);
        }
    }
}
