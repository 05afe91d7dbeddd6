namespace EligibilityGateway.Tests.Deployment;

/// <summary>The workloads as written in their files; <see cref="RenderedOverlayTests"/> checks them again after each overlay's patches.</summary>
public sealed class DeploymentTests
{
    private readonly IReadOnlyList<Manifest> _workloads =
        KustomizeTree.Current.AllResources.Where(m => m.Kind is "Deployment" or "StatefulSet").ToList();

    private IReadOnlyList<Manifest> Deployments => _workloads.Where(m => m.Kind == "Deployment").ToList();

    [Fact]
    public void Deployments_AreTheGatewayAndTheMockCentralGovernment()
    {
        Deployments.Select(d => d.Name).Should().BeEquivalentTo("gateway", "mock-central-government");
    }

    [Fact]
    public void EveryDeployment_ProbesLivenessAndReadinessOnTheHealthEndpoints()
    {
        var failures = new List<string>();
        foreach (var deployment in Deployments)
        {
            foreach (var container in deployment.Containers())
            {
                var ports = container.Mappings("ports").Select(p => p.Scalar("name")).OfType<string>().ToHashSet(StringComparer.Ordinal);
                foreach (var (probe, path) in new[] { ("startupProbe", "/health/live"), ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready") })
                {
                    var httpGet = container.At($"{probe}.httpGet");
                    if (httpGet.Scalar("path") != path)
                    {
                        failures.Add($"{deployment.Describe(container)}: {probe} must GET {path}, found '{httpGet.Scalar("path")}'");
                    }

                    if (httpGet.Scalar("port") is not { } port || !ports.Contains(port))
                    {
                        failures.Add($"{deployment.Describe(container)}: {probe} must target a named container port, found '{httpGet.Scalar("port")}'");
                    }
                }
            }
        }

        Deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryWorkload_RequestsAndLimitsCpuAndMemory()
    {
        _workloads.Should().NotBeEmpty();
        _workloads.SelectMany(WorkloadRules.Resources).Should().BeEmpty();
    }

    [Fact]
    public void EveryWorkload_RunsAsNonRootWithReadOnlyRootFilesystem()
    {
        _workloads.Should().NotBeEmpty();
        _workloads.SelectMany(WorkloadRules.Hardening).Should().BeEmpty();
    }

    [Fact]
    public void EveryWorkload_GivesTmpAWritableEmptyDir()
    {
        _workloads.Should().NotBeEmpty();
        _workloads.SelectMany(WorkloadRules.WritableTmp).Should().BeEmpty();
    }

    [Fact]
    public void EveryWorkload_SelectsItsOwnPodTemplate()
    {
        _workloads.Should().NotBeEmpty();
        _workloads.SelectMany(WorkloadRules.SelectsItsOwnPods).Should().BeEmpty();
    }

    [Fact]
    public void EveryStatefulSet_ProbesLivenessAndReadiness()
    {
        var statefulSets = _workloads.Where(w => w.Kind == "StatefulSet").ToList();

        statefulSets.Select(s => s.Name).Should().BeEquivalentTo("postgresql", "redis");
        statefulSets.SelectMany(WorkloadRules.Probes).Should().BeEmpty();
    }

    [Fact]
    public void EveryDeployment_ListensOnPort8080AsTheDotnetImagesDo()
    {
        var failures = new List<string>();
        foreach (var deployment in Deployments)
        {
            foreach (var container in deployment.Containers())
            {
                var http = container.Mappings("ports").SingleOrDefault(p => p.Scalar("name") == "http");
                if (http?.Scalar("containerPort") != "8080" || container.Env("ASPNETCORE_HTTP_PORTS") != "8080")
                {
                    failures.Add($"{deployment.Describe(container)}: port 'http' and ASPNETCORE_HTTP_PORTS must both be 8080");
                }
            }
        }

        Deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }
}
