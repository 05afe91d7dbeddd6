using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// What production needs of the gateway, checked on each production overlay as <c>kubectl kustomize</c> renders it
/// (k8s/README.md, "Production"). Settings the gateway reads are read back through the gateway's own configuration
/// code where it has one, so that a variable with the wrong name or shape fails here rather than in a cluster.
/// </summary>
public sealed class ProductionOverlayTests
{
    /// <summary>Every production overlay; <see cref="TrustFrameworkMountTests"/> checks that these and the sandbox are all there are.</summary>
    public static readonly IReadOnlyList<string> Overlays = ["overlays/production", "overlays/production-with-datastores"];

    /// <summary>Where the gateway's egress may go: DNS, PostgreSQL, Redis, the departments over HTTPS.</summary>
    private static readonly HashSet<(string Protocol, int Port)> AllowedEgress =
        [("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)];

    public static TheoryData<string> ProductionOverlays => new(Overlays);

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_RunsAtLeastThreeReplicas(string overlay)
    {
        var replicas = RenderedOverlay.Of(overlay).Gateway.Document.At("spec").Scalar("replicas");

        int.Parse(replicas ?? "1", CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(3, "one replica lost, or drained, must leave two serving");
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Autoscaler_ScalesTheGatewayOnCpuFromAtLeastThreeReplicas(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var autoscaler = rendered.OfKind("HorizontalPodAutoscaler").Should().ContainSingle().Subject;
        var spec = autoscaler.Document.At("spec");

        autoscaler.Document.Scalar("apiVersion").Should().Be("autoscaling/v2");
        spec.At("scaleTargetRef").Scalar("kind").Should().Be("Deployment");
        spec.At("scaleTargetRef").Scalar("name").Should().Be(rendered.Gateway.Name);
        var minimum = int.Parse(spec.Scalar("minReplicas") ?? "1", CultureInfo.InvariantCulture);
        minimum.Should().BeGreaterThanOrEqualTo(3);
        int.Parse(spec.Scalar("maxReplicas") ?? "0", CultureInfo.InvariantCulture).Should().BeGreaterThan(minimum);
        spec.Mappings("metrics").Should().Contain(m =>
            m.Scalar("type") == "Resource" && m.At("resource").Scalar("name") == "cpu" && m.At("resource.target").Scalar("type") == "Utilization");
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void DisruptionBudget_LetsADrainTakeAtMostOneGatewayPod(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var budget = rendered.OfKind("PodDisruptionBudget").Should().ContainSingle().Subject;
        var spec = budget.Document.At("spec");
        var replicas = int.Parse(rendered.Gateway.Document.At("spec").Scalar("replicas")!, CultureInfo.InvariantCulture);

        RenderedOverlay.Selects(spec.At("selector"), rendered.Gateway.PodLabels()).Should().BeTrue("the budget must cover the gateway's pods");
        spec.At("selector").StringMap("matchLabels").Should().NotBeEmpty();
        if (spec.Scalar("maxUnavailable") is { } maxUnavailable)
        {
            maxUnavailable.Should().Be("1");
        }
        else
        {
            var minAvailable = int.Parse(spec.Scalar("minAvailable") ?? "0", CultureInfo.InvariantCulture);
            minAvailable.Should().BeGreaterThanOrEqualTo(2).And.BeLessThan(replicas, "a budget nothing can satisfy blocks every drain");
        }
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_SpreadsItsReplicasAcrossNodesAndZones(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var constraints = rendered.Gateway.PodSpec().Mappings("topologySpreadConstraints");

        foreach (var key in new[] { "kubernetes.io/hostname", "topology.kubernetes.io/zone" })
        {
            var constraint = constraints.Should().ContainSingle(c => c.Scalar("topologyKey") == key).Subject;
            constraint.Scalar("maxSkew").Should().Be("1");
            constraint.At("labelSelector").StringMap("matchLabels").Should().NotBeEmpty();
            RenderedOverlay.Selects(constraint.At("labelSelector"), rendered.Gateway.PodLabels()).Should().BeTrue($"the {key} constraint must count the gateway's own pods");
        }

        constraints.Single(c => c.Scalar("topologyKey") == "kubernetes.io/hostname").Scalar("whenUnsatisfiable")
            .Should().Be("DoNotSchedule", "two replicas on one node are lost together");
    }

    /// <summary>
    /// On deletion the pod leaves the endpoints at once; the preStop sleep lets the ingress controller notice before
    /// SIGTERM; then the host stops within its shutdown timeout (in-flight requests, the audit writer's last batch and
    /// checkpoint). All of it must fit in the grace period, or the kubelet kills the process mid-flush.
    /// </summary>
    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public async Task Gateway_DrainsInFlightRequestsAndTheAuditLogWithinTheGracePeriod(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var container = rendered.GatewayContainer;
        var grace = int.Parse(rendered.Gateway.PodSpec().Scalar("terminationGracePeriodSeconds") ?? "30", CultureInfo.InvariantCulture);
        var preStop = container.At("lifecycle.preStop");
        var sleep = preStop.At("sleep").Scalar("seconds")
            ?? (preStop.At("exec").Scalars("command") is ["sleep", var seconds] ? seconds : null);

        sleep.Should().NotBeNull("a preStop sleep keeps the pod serving until the ingress controller has dropped it");
        var sleepSeconds = int.Parse(sleep!, CultureInfo.InvariantCulture);
        sleepSeconds.Should().BeGreaterThanOrEqualTo(5);
        await using var host = GatewayConfiguredBy(container);
        var shutdown = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;

        shutdown.Should().NotBe(new HostOptions().ShutdownTimeout, "the overlay must set the host's shutdown timeout itself");
        shutdown.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10), "in-flight checks wait for the providers' total timeouts");
        (sleepSeconds + shutdown.TotalSeconds).Should().BeLessThan(grace, "the preStop sleep and the host's shutdown must both end before the kubelet kills the process");
        container.Mapping("readinessProbe").Should().NotBeNull();
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public async Task Gateway_BelievesForwardedHeadersOnlyFromTheIngressControllersNetwork(string overlay)
    {
        await using var host = GatewayConfiguredBy(RenderedOverlay.Of(overlay).GatewayContainer);
        var options = host.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;

        options.KnownIPNetworks.Should().NotBeEmpty("behind the ingress controller the client's address and scheme come from X-Forwarded-*");
        options.KnownIPNetworks.Should().OnlyContain(n => n.PrefixLength >= (n.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 8 : 32),
            "only the ingress controller's network, never the whole address space");
        options.KnownProxies.Should().NotContain(p => p.Equals(IPAddress.Any) || p.Equals(IPAddress.IPv6Any));
        options.ForwardedHeaders.HasFlag(ForwardedHeaders.XForwardedHost).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_AnswersItsPublicHostAndTheProbesHostOnly(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var container = rendered.GatewayContainer;
        var allowed = (container.Env("AllowedHosts") ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var probeHosts = new[] { "startupProbe", "livenessProbe", "readinessProbe" }
            .SelectMany(p => container.At($"{p}.httpGet").Mappings("httpHeaders"))
            .Where(h => string.Equals(h.Scalar("name"), "Host", StringComparison.OrdinalIgnoreCase))
            .Select(h => h.Scalar("value")!)
            .ToHashSet(StringComparer.Ordinal);

        probeHosts.Should().NotBeEmpty();
        allowed.Should().NotContain(h => h.Contains('*', StringComparison.Ordinal));
        allowed.Should().BeEquivalentTo(IngressHosts(rendered).Concat(probeHosts).Distinct(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Issuer_IsThePublicHttpsAddressTheIngressServes(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var issuer = rendered.GatewayContainer.Env("Authorization__Issuer");

        issuer.Should().NotBeNull("without it the gateway would publish the address it listens on inside the pod");
        AuthorizationServerOptionsValidator.TryNormaliseIssuer(issuer!, out _).Should().BeTrue("the gateway must accept it");
        var uri = new Uri(issuer!);
        uri.Scheme.Should().Be("https");
        uri.IsDefaultPort.Should().BeTrue();
        uri.IsLoopback.Should().BeFalse();
        IPAddress.TryParse(uri.Host, out _).Should().BeFalse("the issuer is the public name that TLS certifies");
        IngressHosts(rendered).Should().Equal(uri.Host);
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Ingress_ServesTheGatewayOverTlsForEveryHost(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var ingress = rendered.OfKind("Ingress").Should().ContainSingle().Subject;
        var spec = ingress.Document.At("spec");
        var service = rendered.Single("Service", "gateway");
        var servicePorts = service.Document.At("spec").Mappings("ports").SelectMany(p => new[] { p.Scalar("name"), p.Scalar("port") }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var tls = spec.Mappings("tls");

        spec.Scalar("ingressClassName").Should().NotBeNullOrEmpty();
        tls.Should().NotBeEmpty().And.OnlyContain(t => !string.IsNullOrEmpty(t.Scalar("secretName")));
        spec.Mappings("rules").Should().NotBeEmpty();
        foreach (var rule in spec.Mappings("rules"))
        {
            var host = rule.Scalar("host");
            host.Should().NotBeNullOrEmpty("a rule without a host answers any name");
            tls.Should().Contain(t => t.Scalars("hosts").Contains(host!), $"{host} must be served over TLS");
            foreach (var path in rule.At("http").Mappings("paths"))
            {
                path.At("backend.service").Scalar("name").Should().Be(service.Name);
                var port = path.At("backend.service.port");
                servicePorts.Should().Contain(port.Scalar("name") ?? port.Scalar("number"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void NetworkPolicies_DenyEveryPodAllTrafficByDefault(string overlay)
    {
        var defaultDeny = RenderedOverlay.Of(overlay).OfKind("NetworkPolicy").Where(p =>
            p.Document.At("spec.podSelector") is YamlMappingNode { Children.Count: 0 } or null
            && p.Document.At("spec").Scalars("policyTypes").Order().SequenceEqual(["Egress", "Ingress"])
            && p.Document.At("spec.ingress") is null
            && p.Document.At("spec.egress") is null);

        defaultDeny.Should().ContainSingle("every pod must start from no traffic at all, in and out");
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_TakesTrafficOnlyFromTheIngressControllerOnItsHttpPort(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var httpPort = rendered.GatewayContainer.Mappings("ports").Single(p => p.Scalar("name") == "http");
        var rules = rendered.PoliciesSelecting(rendered.Gateway.PodLabels()).SelectMany(p => p.Document.At("spec").Mappings("ingress")).ToList();
        var namespaces = new HashSet<string>(StringComparer.Ordinal);

        rules.Should().NotBeEmpty("the ingress controller must reach the gateway");
        foreach (var rule in rules)
        {
            rule.Mappings("from").Should().NotBeEmpty("a rule without 'from' admits every source");
            foreach (var peer in rule.Mappings("from"))
            {
                peer.Child("ipBlock").Should().BeNull("addresses change; the controller is named by its namespace");
                var selector = peer.At("namespaceSelector").StringMap("matchLabels");
                selector.Should().ContainKey("kubernetes.io/metadata.name", "a namespace is named by the label Kubernetes sets and nobody else can");
                peer.At("namespaceSelector").Mappings("matchExpressions").Should().BeEmpty();
                namespaces.Add(selector["kubernetes.io/metadata.name"]);
            }

            rule.Mappings("ports").Should().NotBeEmpty("a rule without ports admits every port");
            rule.Mappings("ports").Should().OnlyContain(p =>
                (p.Scalar("port") == httpPort.Scalar("name") || p.Scalar("port") == httpPort.Scalar("containerPort")) && (p.Scalar("protocol") ?? "TCP") == "TCP");
        }

        var ingressNamespace = namespaces.Should().ContainSingle().Subject;
        ingressNamespace.Should().NotBe(rendered.Gateway.Document.At("metadata").Scalar("namespace"));
        File.ReadAllText(Path.Combine(RepositoryRoot.Path, "k8s", "README.md")).Contains($"`kubernetes.io/metadata.name: {ingressNamespace}`", StringComparison.Ordinal)
            .Should().BeTrue("k8s/README.md must tell the operator which namespace the gateway admits ({0}), and how to change it", ingressNamespace);
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_ReachesOnlyDnsPostgresqlRedisAndTheDepartments(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var rules = rendered.PoliciesSelecting(rendered.Gateway.PodLabels()).SelectMany(p => p.Document.At("spec").Mappings("egress")).ToList();
        var reached = new HashSet<(string, int)>();
        var failures = new List<string>();

        foreach (var rule in rules)
        {
            var peers = rule.Mappings("to");
            var ports = rule.Mappings("ports");
            if (peers.Count == 0 || ports.Count == 0)
            {
                failures.Add($"an egress rule without 'to' or 'ports' opens every destination or port: {rule}");
                continue;
            }

            foreach (var port in ports)
            {
                var protocol = port.Scalar("protocol") ?? "TCP";
                if (!int.TryParse(port.Scalar("port"), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || port.Child("endPort") is not null)
                {
                    failures.Add($"egress port '{port.Scalar("port")}' must be one number (a name matches whatever port a destination calls so)");
                    continue;
                }

                reached.Add((protocol, number));
                if (!AllowedEgress.Contains((protocol, number)))
                {
                    failures.Add($"egress to {protocol} {number} is not PostgreSQL, Redis, HTTPS or DNS");
                }

                failures.AddRange(peers.Select(peer => PeerProblem(rendered, peer, number)).OfType<string>().Select(problem => $"{protocol} {number}: {problem}"));
            }
        }

        failures.Should().BeEmpty();
        reached.Should().BeEquivalentTo(AllowedEgress, "the gateway needs each of them: names, its stores, the departments");
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Overlay_CommitsNoSecret(string overlay)
    {
        RenderedOverlay.Of(overlay).OfKind("Secret").Should().BeEmpty("keys, connection strings and credentials come from the operator's secret store (k8s/README.md)");
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_ReadsEverySecretSettingFromASecret(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var gateway = rendered.GatewayContainer;
        var failures = new List<string>();
        foreach (var workload in rendered.Workloads)
        {
            foreach (var container in workload.AllContainers())
            {
                failures.AddRange(container.Mappings("env")
                    .Where(e => IsSecretSetting(e.Scalar("name") ?? "") && e.At("valueFrom.secretKeyRef") is null)
                    .Select(e => $"{workload.Describe(container)}: {e.Scalar("name")} must come from a secretKeyRef"));
            }
        }

        failures.Should().BeEmpty();
        var stores = new[] { "Audit__Postgres__ConnectionString", "Authorization__Postgres__ConnectionString", "Consents__Postgres__ConnectionString", "BulkChecks__Postgres__ConnectionString", "Cache__Redis" }
            .Select(name => gateway.Mappings("env").SingleOrDefault(e => e.Scalar("name") == name)?.At("valueFrom.secretKeyRef"))
            .ToList();
        stores.Should().OnlyContain(s => s != null, "production keeps the audit log, the authorization server, the consents and bulk-check jobs in PostgreSQL and shared state in Redis");
        stores.Take(4).Select(s => (s!.Scalar("name"), s.Scalar("key"))).Distinct().Should().HaveCount(4,
            "each PostgreSQL store has its own setting; the authorization server creates its schema only in an empty database");
        gateway.Mappings("env").Where(e => (e.Scalar("name") ?? "").StartsWith("Providers__", StringComparison.Ordinal)).Should().NotBeEmpty();
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Gateway_TakesItsKeysFromASecretAndNeverGeneratesThem(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var container = rendered.GatewayContainer;
        var directory = container.Env("Keys__Directory");

        container.Env("Keys__GenerateIfMissing").Should().NotBe("true");
        var mount = container.Mappings("volumeMounts").Should().ContainSingle(m => m.Scalar("mountPath") == directory).Subject;
        mount.Scalar("readOnly").Should().Be("true");
        var volume = rendered.Gateway.PodSpec().Mappings("volumes").Single(v => v.Scalar("name") == mount.Scalar("name"));
        volume.At("secret").Scalar("secretName").Should().NotBeNullOrEmpty();
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Overlay_DeploysNoMockCentralGovernment(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var containers = rendered.Workloads.SelectMany(w => w.AllContainers()).ToList();

        containers.Should().NotBeEmpty();
        rendered.Objects.Should().NotContain(m => m.Name.Contains("mock", StringComparison.OrdinalIgnoreCase));
        containers.Should().NotContain(c => (c.Scalar("image") ?? "").Contains("mock", StringComparison.OrdinalIgnoreCase));
        containers.SelectMany(c => c.Mappings("env")).Should().NotContain(e => (e.Scalar("value") ?? "").Contains("mock", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [MemberData(nameof(ProductionOverlays))]
    public void Overlay_PutsEveryObjectInOneRestrictedNamespace(string overlay)
    {
        var rendered = RenderedOverlay.Of(overlay);
        var ns = rendered.OfKind("Namespace").Should().ContainSingle().Subject;

        ns.Document.At("metadata").StringMap("labels").Should().Contain("pod-security.kubernetes.io/enforce", "restricted");
        rendered.Objects.Where(m => m.Kind != "Namespace")
            .Where(m => m.Document.At("metadata").Scalar("namespace") != ns.Name)
            .Select(m => m.ToString())
            .Should().BeEmpty();
    }

    /// <summary>The gateway's configuration as its environment in the manifest makes it, through ASP.NET Core's own host builder.</summary>
    private static WebApplication GatewayConfiguredBy(YamlNode container)
    {
        // Environment variables as the host reads them: DOTNET_ and ASPNETCORE_ prefixes dropped, "__" for ":".
        var arguments = container.Mappings("env")
            .Where(e => e.Scalar("value") is not null)
            .Select(e =>
            {
                var name = e.Scalar("name")!;
                foreach (var prefix in new[] { "DOTNET_", "ASPNETCORE_" })
                {
                    name = name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? name[prefix.Length..] : name;
                }

                return $"--{name.Replace("__", ":", StringComparison.Ordinal)}={e.Scalar("value")}";
            })
            .ToArray();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = arguments });
        builder.Services.AddPublicOrigin();
        return builder.Build();
    }

    private static IReadOnlyList<string> IngressHosts(RenderedOverlay rendered) =>
        rendered.OfKind("Ingress").SelectMany(i => i.Document.At("spec").Mappings("rules")).Select(r => r.Scalar("host") ?? "").Distinct(StringComparer.Ordinal).ToList();

    private static bool IsSecretSetting(string name) =>
        new[] { "ConnectionString", "Credential", "Password", "PASSWORD", "Secret", "_AUTH" }.Any(s => name.EndsWith(s, StringComparison.Ordinal))
        || name == "Cache__Redis";

    /// <summary>Why an egress peer is too wide for <paramref name="port"/>, or null when it is narrow enough.</summary>
    private static string? PeerProblem(RenderedOverlay rendered, YamlNode peer, int port)
    {
        if (peer.At("ipBlock") is { } block)
        {
            var cidr = block.Scalar("cidr") ?? "";
            if (!System.Net.IPNetwork.TryParse(cidr, out var network) || network.PrefixLength < 8)
            {
                return $"ipBlock '{cidr}' is not a network narrower than /8";
            }

            return port == 53 ? "DNS goes to the cluster's DNS pods, not to addresses" : null;
        }

        var namespaceLabels = peer.At("namespaceSelector").StringMap("matchLabels");
        var podSelector = peer.At("podSelector");
        switch (port)
        {
            case 53:
                return namespaceLabels.GetValueOrDefault("kubernetes.io/metadata.name") == "kube-system"
                    && podSelector.StringMap("matchLabels").Count > 0
                    ? null
                    : "DNS must go to the DNS pods in kube-system only";
            case 5432 or 6379:
                // In the cluster: a pod selector in this namespace that picks a workload rendered here listening on the port.
                var targets = peer.Child("namespaceSelector") is null && podSelector.StringMap("matchLabels").Count > 0
                    ? rendered.Workloads.Where(w => RenderedOverlay.Selects(podSelector, w.PodLabels())).ToList()
                    : [];
                return targets.Count > 0 && targets.All(t => t.Containers().Any(c => c.Mappings("ports").Any(p => p.Scalar("containerPort") == port.ToString(CultureInfo.InvariantCulture))))
                    ? null
                    : "PostgreSQL and Redis are reached at their address, or at the pods of this overlay that serve them";
            default:
                return "HTTPS goes to the departments' addresses only";
        }
    }
}
