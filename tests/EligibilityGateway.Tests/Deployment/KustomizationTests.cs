namespace EligibilityGateway.Tests.Deployment;

public sealed class KustomizationTests
{
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    [Fact]
    public void Kustomizations_AreTheBaseTheDatastoresComponentAndTheOverlays()
    {
        // A new overlay must join the checks that name overlays (ProductionOverlayTests.Overlays) before it is listed here.
        _tree.Kustomizations.Select(k => k.RelativeDirectory)
            .Should().BeEquivalentTo("base", "components/with-datastores", "overlays/sandbox", "overlays/production", "overlays/production-with-datastores");
        _tree.KustomizationAt("components/with-datastores").Node.Scalar("kind").Should().Be("Component");
    }

    [Fact]
    public void EveryKustomization_ReferencesOnlyFilesAndDirectoriesThatExist()
    {
        var references = _tree.Kustomizations
            .SelectMany(k => k.ReferencedPaths.Select(path => (Kustomization: k.RelativeDirectory, Path: path)))
            .ToList();

        references.Should().NotBeEmpty();
        references.Where(r => !File.Exists(r.Path) && !Directory.Exists(r.Path))
            .Select(r => $"k8s/{r.Kustomization}/kustomization.yaml names '{_tree.RelativeTo(r.Path)}', which does not exist")
            .Should().BeEmpty();
    }

    [Fact]
    public void EveryDirectoryResource_IsAKustomization()
    {
        var directories = _tree.Kustomizations
            .SelectMany(k => k.Resources.Concat(k.Components))
            .Where(Directory.Exists)
            .ToList();

        directories.Should().Contain(d => _tree.RelativeTo(d) == "base", "the sandbox overlay builds on the base");
        directories.Where(d => _tree.Kustomizations.All(k => k.Directory != d))
            .Select(_tree.RelativeTo)
            .Should().BeEmpty("kustomize can only include a directory that holds a kustomization.yaml");
    }

    [Fact]
    public void EveryYamlFileUnderK8s_IsAKustomizationOrListedByOne()
    {
        var referenced = _tree.Kustomizations.SelectMany(k => k.ReferencedPaths).ToHashSet(StringComparer.Ordinal);
        var kustomizationFiles = _tree.Kustomizations.Select(k => k.FilePath).ToHashSet(StringComparer.Ordinal);

        _tree.Files.Should().HaveCountGreaterThan(kustomizationFiles.Count, "the kustomizations list manifests");
        _tree.Files
            .Where(f => !kustomizationFiles.Contains(f.FullPath) && !referenced.Contains(f.FullPath))
            .Select(f => f.RelativePath)
            .Should().BeEmpty("a manifest no kustomization lists is never applied");
    }

    [Fact]
    public void EveryResourceDocument_HasAnApiVersionKindAndName()
    {
        var resources = _tree.AllResources;

        resources.Should().NotBeEmpty();
        resources
            .Where(m => string.IsNullOrEmpty(m.Document.Scalar("apiVersion")) || m.Kind.Length == 0 || m.Name.Length == 0)
            .Select(m => $"{m.File} document {m.Index}")
            .Should().BeEmpty();
    }

    [Fact]
    public void EveryDeploymentAndService_CarriesTheRecommendedLabels()
    {
        var labelled = _tree.AllResources.Where(m => m.Kind is "Deployment" or "Service").ToList();

        labelled.Should().NotBeEmpty();
        labelled
            .Where(m => string.IsNullOrEmpty(m.Document.At("metadata").StringMap("labels").GetValueOrDefault("app.kubernetes.io/name")))
            .Select(m => m.ToString())
            .Should().BeEmpty("resources are labelled per app.kubernetes.io/* so tools and selectors can find them");
        _tree.KustomizationAt("base").Node.Mappings("labels")
            .Should().Contain(l => l.StringMap("pairs").GetValueOrDefault("app.kubernetes.io/part-of") == "eligibility-gateway");
    }
}
