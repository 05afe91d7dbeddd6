using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// The production overlay expects an external PostgreSQL and Redis; components/with-datastores runs them in the
/// cluster instead (overlays/production-with-datastores), behind NetworkPolicies that admit the gateway alone.
/// </summary>
public sealed class WithDatastoresTests
{
    private const string Production = "overlays/production";
    private const string WithDatastores = "overlays/production-with-datastores";

    private static readonly (string Name, string Image, int MinimumMajor, int MaximumMajor, int Port)[] Datastores =
    [
        ("postgresql", "postgres", 15, int.MaxValue, 5432),
        ("redis", "redis", 7, 7, 6379),
    ];

    [Fact]
    public void ProductionOverlay_RunsNoDatastoreAndReachesTheExternalOnesByAddress()
    {
        var rendered = RenderedOverlay.Of(Production);
        var peers = DatastoreEgressPeers(rendered);

        rendered.OfKind("StatefulSet").Should().BeEmpty();
        rendered.OfKind("PersistentVolumeClaim").Should().BeEmpty();
        peers.Should().NotBeEmpty().And.OnlyContain(p => p.Child("ipBlock") != null);
    }

    [Fact]
    public void WithDatastores_RunsPostgresql15OrLaterAndRedis7EachOnAPersistentVolume()
    {
        var rendered = RenderedOverlay.Of(WithDatastores);

        rendered.OfKind("StatefulSet").Select(s => s.Name).Should().BeEquivalentTo(Datastores.Select(d => d.Name));
        foreach (var (name, image, minimum, maximum, port) in Datastores)
        {
            var statefulSet = rendered.Single("StatefulSet", name);
            var container = statefulSet.Containers().Should().ContainSingle().Subject;
            var (repository, major) = ImageMajor(container.Scalar("image") ?? "");
            repository.Should().EndWith("/" + image);
            major.Should().BeInRange(minimum, maximum, $"{name} must run {image} {minimum}{(maximum == minimum ? "" : " or later")}");
            container.Mappings("ports").Select(p => p.Scalar("containerPort")).Should().Contain(port.ToString(CultureInfo.InvariantCulture));

            var claims = statefulSet.Document.At("spec").Mappings("volumeClaimTemplates");
            var claim = claims.Should().ContainSingle().Subject;
            claim.At("spec.resources.requests").Scalar("storage").Should().NotBeNullOrEmpty();
            claim.At("spec").Scalars("accessModes").Should().Equal("ReadWriteOnce");
            container.Mappings("volumeMounts").Should().Contain(m => m.Scalar("name") == claim.At("metadata").Scalar("name"), $"{name} must keep its data on the claim");

            var service = rendered.Single("Service", statefulSet.Document.At("spec").Scalar("serviceName") ?? "");
            service.Name.Should().Be(name, "the gateway's connection settings name the Service (k8s/README.md)");
            RenderedOverlay.Selects(service.Document.At("spec.selector") is YamlMappingNode selector ? new YamlMappingNode { { "matchLabels", selector } } : null, statefulSet.PodLabels())
                .Should().BeTrue();
            service.Document.At("spec").Mappings("ports").Select(p => p.Scalar("port")).Should().Contain(port.ToString(CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void WithDatastores_AdmitsOnlyTheGatewayToPostgresqlAndRedisAndLetsThemReachNothing()
    {
        var rendered = RenderedOverlay.Of(WithDatastores);
        var gatewayLabels = rendered.Gateway.PodLabels();

        foreach (var (name, _, _, _, port) in Datastores)
        {
            var statefulSet = rendered.Single("StatefulSet", name);
            var policies = rendered.PoliciesSelecting(statefulSet.PodLabels());
            var ingress = policies.SelectMany(p => p.Document.At("spec").Mappings("ingress")).ToList();
            var portName = statefulSet.Containers().Single().Mappings("ports").Single().Scalar("name");

            ingress.Should().NotBeEmpty($"the gateway must reach {name}");
            foreach (var rule in ingress)
            {
                var peer = rule.Mappings("from").Should().ContainSingle($"{name} admits the gateway and nothing else").Subject;
                peer.Child("namespaceSelector").Should().BeNull("a namespace selector would admit pods of another namespace");
                peer.Child("ipBlock").Should().BeNull();
                peer.At("podSelector").StringMap("matchLabels").Should().ContainKey("app.kubernetes.io/component");
                RenderedOverlay.Selects(peer.At("podSelector"), gatewayLabels).Should().BeTrue();
                rendered.Workloads.Where(w => RenderedOverlay.Selects(peer.At("podSelector"), w.PodLabels())).Select(w => w.Name)
                    .Should().Equal(["gateway"], "only the gateway's pods may match");
                rule.Mappings("ports").Should().ContainSingle().Which.Scalar("port").Should().BeOneOf(portName, port.ToString(CultureInfo.InvariantCulture));
            }

            policies.SelectMany(p => p.Document.At("spec").Mappings("egress")).Should().BeEmpty($"{name} needs to reach nothing");
            policies.Should().Contain(p => p.Document.At("spec").Scalars("policyTypes").Contains("Egress"), $"{name}'s egress must be denied by a policy");
        }
    }

    [Fact]
    public void WithDatastores_SendsTheGatewaysDatastoreTrafficToThePodsRatherThanToAddresses()
    {
        var rendered = RenderedOverlay.Of(WithDatastores);
        var peers = DatastoreEgressPeers(rendered);

        peers.Should().NotBeEmpty().And.OnlyContain(p => p.Child("ipBlock") == null && p.Child("namespaceSelector") == null);
        foreach (var (name, _, _, _, port) in Datastores)
        {
            var selected = EgressRulesFor(rendered, port).SelectMany(r => r.Mappings("to"))
                .SelectMany(peer => rendered.Workloads.Where(w => RenderedOverlay.Selects(peer.At("podSelector"), w.PodLabels())))
                .Select(w => w.Name)
                .Distinct();
            selected.Should().Equal([name], $"port {port} leads to {name} and nowhere else");
        }
    }

    /// <summary>The component adds the datastores and redirects the gateway's traffic to them; the rest is the production overlay's, unchanged.</summary>
    [Fact]
    public void WithDatastores_IsTheProductionOverlayPlusTheDatastores()
    {
        var production = RenderedOverlay.Of(Production).Objects;
        var withDatastores = RenderedOverlay.Of(WithDatastores).Objects;
        var changed = new[] { ("NetworkPolicy", "gateway-egress-datastores") };

        foreach (var manifest in production.Where(m => !changed.Contains((m.Kind, m.Name))))
        {
            var counterpart = withDatastores.SingleOrDefault(m => m.Kind == manifest.Kind && m.Name == manifest.Name);
            counterpart.Should().NotBeNull($"{manifest.Kind}/{manifest.Name} is part of production");
            Serialise(counterpart!.Document).Should().Be(Serialise(manifest.Document), $"{manifest.Kind}/{manifest.Name} must be production's own");
        }

        withDatastores.Select(m => (m.Kind, m.Name)).Except(production.Select(m => (m.Kind, m.Name)))
            .Should().OnlyContain(k => k.Name.StartsWith("postgresql", StringComparison.Ordinal) || k.Name.StartsWith("redis", StringComparison.Ordinal));
    }

    private static IReadOnlyList<YamlMappingNode> EgressRulesFor(RenderedOverlay rendered, int port) =>
        rendered.PoliciesSelecting(rendered.Gateway.PodLabels())
            .SelectMany(p => p.Document.At("spec").Mappings("egress"))
            .Where(r => r.Mappings("ports").Any(p => p.Scalar("port") == port.ToString(CultureInfo.InvariantCulture)))
            .ToList();

    private static IReadOnlyList<YamlMappingNode> DatastoreEgressPeers(RenderedOverlay rendered) =>
        Datastores.SelectMany(d => EgressRulesFor(rendered, d.Port)).SelectMany(r => r.Mappings("to")).ToList();

    /// <summary><c>docker.io/library/postgres:17-bookworm</c> → (<c>docker.io/library/postgres</c>, 17).</summary>
    private static (string Repository, int Major) ImageMajor(string image)
    {
        var separator = image.LastIndexOf(':');
        var tag = image[(separator + 1)..];
        var digits = new string(tag.TakeWhile(char.IsAsciiDigit).ToArray());
        return (image[..separator], digits.Length == 0 ? -1 : int.Parse(digits, CultureInfo.InvariantCulture));
    }

    private static string Serialise(YamlNode node)
    {
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }
}
