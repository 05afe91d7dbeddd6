using System.Globalization;

namespace EligibilityGateway.Tests.Deployment;

public sealed class DeploymentTests
{
    private readonly IReadOnlyList<Manifest> _deployments =
        KustomizeTree.Current.AllResources.Where(m => m.Kind == "Deployment").ToList();

    [Fact]
    public void Deployments_AreTheGatewayAndTheMockCentralGovernment()
    {
        _deployments.Select(d => d.Name).Should().BeEquivalentTo("gateway", "mock-central-government");
    }

    [Fact]
    public void EveryDeployment_ProbesLivenessAndReadinessOnTheHealthEndpoints()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
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

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryContainer_RequestsAndLimitsCpuAndMemory()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
        {
            foreach (var container in deployment.AllContainers())
            {
                foreach (var bound in new[] { "requests", "limits" })
                {
                    foreach (var resource in new[] { "cpu", "memory" })
                    {
                        if (string.IsNullOrWhiteSpace(container.At($"resources.{bound}").Scalar(resource)))
                        {
                            failures.Add($"{deployment.Describe(container)}: no resources.{bound}.{resource}");
                        }
                    }
                }
            }
        }

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryDeployment_RunsAsNonRootWithReadOnlyRootFilesystem()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
        {
            if (deployment.PodSpec().Scalar("automountServiceAccountToken") != "false")
            {
                failures.Add($"{deployment}: automountServiceAccountToken must be false");
            }

            if (deployment.PodSpec().Scalar("hostNetwork") == "true" || deployment.PodSpec().Scalar("hostPID") == "true")
            {
                failures.Add($"{deployment}: must not share the host's network or process namespace");
            }

            foreach (var container in deployment.AllContainers())
            {
                var where = deployment.Describe(container);
                var security = container.At("securityContext");
                if (deployment.EffectiveSecurity(container, "runAsNonRoot") != "true")
                {
                    failures.Add($"{where}: runAsNonRoot must be true");
                }

                // A numeric user lets the kubelet verify non-root before start; a named USER in the image cannot be checked.
                var user = deployment.EffectiveSecurity(container, "runAsUser");
                if (!long.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid == 0)
                {
                    failures.Add($"{where}: runAsUser must be a non-zero number, found '{user}'");
                }

                if (deployment.EffectiveSecurity(container, "seccompProfile.type") != "RuntimeDefault")
                {
                    failures.Add($"{where}: seccompProfile must be RuntimeDefault");
                }

                if (security.Scalar("readOnlyRootFilesystem") != "true")
                {
                    failures.Add($"{where}: readOnlyRootFilesystem must be true");
                }

                if (security.Scalar("allowPrivilegeEscalation") != "false")
                {
                    failures.Add($"{where}: allowPrivilegeEscalation must be false");
                }

                if (security.Scalar("privileged") == "true")
                {
                    failures.Add($"{where}: must not be privileged");
                }

                if (!security.At("capabilities").Scalars("drop").Contains("ALL") || security.At("capabilities").Scalars("add").Count > 0)
                {
                    failures.Add($"{where}: must drop ALL capabilities and add none");
                }
            }
        }

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryDeployment_GivesTmpAWritableEmptyDir()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
        {
            var emptyDirs = deployment.PodSpec().Mappings("volumes")
                .Where(v => v.Child("emptyDir") is not null)
                .Select(v => v.Scalar("name"))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var container in deployment.Containers())
            {
                var tmp = container.Mappings("volumeMounts").SingleOrDefault(m => m.Scalar("mountPath") == "/tmp");
                if (tmp is null || !emptyDirs.Contains(tmp.Scalar("name")) || tmp.Scalar("readOnly") == "true")
                {
                    failures.Add($"{deployment.Describe(container)}: /tmp must be a writable emptyDir when the root filesystem is read-only");
                }
            }
        }

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryDeployment_SelectsItsOwnPodTemplate()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
        {
            var selector = deployment.Document.At("spec.selector").StringMap("matchLabels");
            var labels = deployment.PodLabels();
            if (selector.Count == 0 || selector.Any(s => labels.GetValueOrDefault(s.Key) != s.Value))
            {
                failures.Add($"{deployment}: selector {string.Join(",", selector)} does not match pod labels {string.Join(",", labels)}");
            }

            if (!labels.ContainsKey("app.kubernetes.io/name") || !labels.ContainsKey("app.kubernetes.io/component"))
            {
                failures.Add($"{deployment}: pod template needs app.kubernetes.io/name and app.kubernetes.io/component");
            }
        }

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryDeployment_ListensOnPort8080AsTheDotnetImagesDo()
    {
        var failures = new List<string>();
        foreach (var deployment in _deployments)
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

        _deployments.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }
}
