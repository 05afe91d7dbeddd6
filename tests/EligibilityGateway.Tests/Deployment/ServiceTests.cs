namespace EligibilityGateway.Tests.Deployment;

public sealed class ServiceTests
{
    private readonly IReadOnlyList<Manifest> _resources = KustomizeTree.Current.AllResources;

    [Fact]
    public void EveryService_SelectsOneWorkloadAndTargetsANamedContainerPort()
    {
        var services = _resources.Where(m => m.Kind == "Service").ToList();
        var workloads = _resources.Where(m => m.Kind is "Deployment" or "StatefulSet").ToList();
        var failures = new List<string>();

        foreach (var service in services)
        {
            var selector = service.Document.At("spec").StringMap("selector");
            var selected = workloads
                .Where(d => selector.Count > 0 && selector.All(s => d.PodLabels().GetValueOrDefault(s.Key) == s.Value))
                .ToList();
            if (selected.Count != 1)
            {
                failures.Add($"{service}: selector {string.Join(",", selector)} matches {selected.Count} workloads, expected exactly one");
                continue;
            }

            var portNames = selected[0].Containers()
                .SelectMany(c => c.Mappings("ports"))
                .Select(p => p.Scalar("name"))
                .OfType<string>()
                .ToHashSet(StringComparer.Ordinal);
            var ports = service.Document.At("spec").Mappings("ports");
            if (ports.Count == 0)
            {
                failures.Add($"{service}: exposes no port");
            }

            foreach (var port in ports)
            {
                // A named target keeps the Service right when the container port number changes.
                if (port.Scalar("targetPort") is not { } target || !portNames.Contains(target))
                {
                    failures.Add($"{service}: targetPort '{port.Scalar("targetPort")}' is not a named port of {selected[0].Name}");
                }
            }
        }

        services.Select(s => s.Name).Should().BeEquivalentTo("gateway", "mock-central-government", "postgresql", "redis");
        failures.Should().BeEmpty();
    }
}
