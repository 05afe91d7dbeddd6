using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// Every YAML file under <c>k8s/</c>, parsed (all documents of each), and the kustomizations among them with
/// the files they reference. Enough of Kustomize to check the manifests without a cluster or the kustomize
/// binary: references are resolved, generators are read, patches are not merged.
/// </summary>
internal sealed class KustomizeTree
{
    private static readonly Lazy<KustomizeTree> Loaded = new(() => Load(System.IO.Path.Combine(RepositoryRoot.Path, "k8s")));

    private KustomizeTree(string root, IReadOnlyList<YamlFile> files)
    {
        Root = root;
        Files = files;
        Kustomizations = files
            .Where(f => System.IO.Path.GetFileName(f.FullPath) is "kustomization.yaml" or "kustomization.yml")
            .Select(f => Kustomization.Read(f, RelativeTo))
            .ToList();
    }

    /// <summary>The tree of the repository the tests run in.</summary>
    public static KustomizeTree Current => Loaded.Value;

    /// <summary>Full path of <c>k8s/</c>.</summary>
    public string Root { get; }

    public IReadOnlyList<YamlFile> Files { get; }

    public IReadOnlyList<Kustomization> Kustomizations { get; }

    /// <summary>Kustomizations under <c>k8s/overlays/</c>: the deployable environments.</summary>
    public IReadOnlyList<Kustomization> Overlays =>
        Kustomizations.Where(k => k.RelativeDirectory.StartsWith("overlays/", StringComparison.Ordinal)).ToList();

    /// <summary>Every resource document that some kustomization lists, once each.</summary>
    public IReadOnlyList<Manifest> AllResources =>
        Kustomizations.SelectMany(ResourcesOf).DistinctBy(m => (m.File, m.Index)).ToList();

    public Kustomization KustomizationAt(string relativeDirectory) =>
        Kustomizations.SingleOrDefault(k => k.RelativeDirectory == relativeDirectory)
        ?? throw new InvalidOperationException($"No kustomization in k8s/{relativeDirectory}.");

    /// <summary>The resource documents a kustomization renders, following directory resources into other kustomizations.</summary>
    public IReadOnlyList<Manifest> ResourcesOf(Kustomization kustomization) =>
        Walk(kustomization).SelectMany(k => k.Resources.Where(File.Exists)).SelectMany(DocumentsOf).ToList();

    /// <summary>Patch documents a kustomization applies, innermost kustomization first (the order Kustomize applies them).</summary>
    public IReadOnlyList<Manifest> PatchesOf(Kustomization kustomization) =>
        Walk(kustomization).Reverse().SelectMany(k => k.Patches.Where(File.Exists)).SelectMany(DocumentsOf).ToList();

    /// <summary>The ConfigMap and Secret generators a kustomization renders, its own and those of the kustomizations it includes.</summary>
    public IReadOnlyList<Generator> GeneratorsOf(Kustomization kustomization) =>
        Walk(kustomization).SelectMany(k => k.Generators).ToList();

    /// <summary>Image names an overlay sets a tag or digest for, through itself and what it includes.</summary>
    public IReadOnlySet<string> ImagesTaggedBy(Kustomization kustomization) =>
        Walk(kustomization)
            .SelectMany(k => k.Node.Mappings("images"))
            .Where(i => i.Scalar("newTag") is not null || i.Scalar("digest") is not null)
            .Select(i => i.Scalar("name") ?? "")
            .ToHashSet(StringComparer.Ordinal);

    public string RelativeTo(string fullPath) =>
        System.IO.Path.GetRelativePath(Root, fullPath).Replace('\\', '/');

    private static KustomizeTree Load(string root)
    {
        var files = Directory
            .EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".yaml", StringComparison.Ordinal) || p.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => YamlFile.Read(p, System.IO.Path.GetRelativePath(root, p).Replace('\\', '/')))
            .ToList();
        return new KustomizeTree(System.IO.Path.GetFullPath(root), files);
    }

    private IEnumerable<Kustomization> Walk(Kustomization kustomization)
    {
        yield return kustomization;
        foreach (var directory in kustomization.Resources.Concat(kustomization.Components).Where(Directory.Exists))
        {
            var included = Kustomizations.SingleOrDefault(k => k.Directory == directory);
            if (included is null)
            {
                continue;
            }

            foreach (var nested in Walk(included))
            {
                yield return nested;
            }
        }
    }

    private IEnumerable<Manifest> DocumentsOf(string fullPath)
    {
        var file = Files.Single(f => f.FullPath == fullPath);
        return file.Documents.Select((document, index) => new Manifest(file.RelativePath, index, document));
    }
}

/// <summary>One YAML file and its documents (a file may hold several, separated by <c>---</c>).</summary>
internal sealed record YamlFile(string RelativePath, string FullPath, IReadOnlyList<YamlMappingNode> Documents)
{
    public static YamlFile Read(string fullPath, string relativePath)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(fullPath))
        {
            stream.Load(reader);
        }

        var documents = stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
        return new YamlFile(relativePath, System.IO.Path.GetFullPath(fullPath), documents);
    }
}

/// <summary>A Kubernetes object as written in a resource file.</summary>
internal sealed record Manifest(string File, int Index, YamlMappingNode Document)
{
    public string Kind => Document.Scalar("kind") ?? "";

    public string Name => Document.At("metadata").Scalar("name") ?? "";

    public override string ToString() => $"{Kind}/{Name} ({File})";
}

/// <summary>A <c>configMapGenerator</c> or <c>secretGenerator</c> entry and the keys it produces.</summary>
internal sealed record Generator(
    string Kind,
    string Name,
    IReadOnlyList<GeneratorFile> Files,
    IReadOnlyList<string> EnvFiles,
    IReadOnlyList<string> LiteralKeys,
    bool HashSuffix)
{
    /// <summary>Keys of the generated object; env files contribute one key per <c>KEY=value</c> line.</summary>
    public IReadOnlySet<string> Keys =>
        Files.Select(f => f.Key)
            .Concat(LiteralKeys)
            .Concat(EnvFiles.Where(File.Exists).SelectMany(File.ReadAllLines)
                .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.TrimStart().StartsWith('#'))
                .Select(line => line[..line.IndexOf('=', StringComparison.Ordinal)].Trim()))
            .ToHashSet(StringComparer.Ordinal);
}

/// <summary>A file a generator reads; the key defaults to the file name, <c>key=path</c> overrides it.</summary>
internal sealed record GeneratorFile(string Key, string FullPath);

/// <summary>A <c>kustomization.yaml</c>: what it references, resolved to full paths.</summary>
internal sealed record Kustomization(
    string FilePath,
    string Directory,
    string RelativeDirectory,
    YamlMappingNode Node,
    IReadOnlyList<string> Resources,
    IReadOnlyList<string> Components,
    IReadOnlyList<string> Patches,
    IReadOnlyList<Generator> Generators)
{
    /// <summary>Every local path it names: resources, components, patch files and generator sources.</summary>
    public IEnumerable<string> ReferencedPaths =>
        Resources.Concat(Components).Concat(Patches)
            .Concat(Generators.SelectMany(g => g.Files.Select(f => f.FullPath).Concat(g.EnvFiles)));

    public static Kustomization Read(YamlFile file, Func<string, string> relativeTo)
    {
        var directory = System.IO.Path.GetDirectoryName(file.FullPath)!;
        var node = file.Documents.Single();
        string Resolve(string path) => System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, path));

        var patches = node.Mappings("patches").Select(p => p.Scalar("path")).OfType<string>()
            .Concat(node.Scalars("patchesStrategicMerge"))
            .Concat(node.Mappings("patchesJson6902").Select(p => p.Scalar("path")).OfType<string>())
            .Select(Resolve)
            .ToList();

        var hashByDefault = node.At("generatorOptions").Scalar("disableNameSuffixHash") != "true";
        var generators = node.Mappings("configMapGenerator").Select(g => ReadGenerator("ConfigMap", g, hashByDefault, Resolve))
            .Concat(node.Mappings("secretGenerator").Select(g => ReadGenerator("Secret", g, hashByDefault, Resolve)))
            .ToList();

        var relative = relativeTo(directory);
        return new Kustomization(
            file.FullPath,
            directory,
            relative == "." ? "" : relative,
            node,
            node.Scalars("resources").Select(Resolve).ToList(),
            node.Scalars("components").Select(Resolve).ToList(),
            patches,
            generators);
    }

    private static Generator ReadGenerator(string kind, YamlMappingNode node, bool hashByDefault, Func<string, string> resolve)
    {
        var files = node.Scalars("files").Select(entry =>
        {
            var separator = entry.IndexOf('=', StringComparison.Ordinal);
            return separator < 0
                ? new GeneratorFile(System.IO.Path.GetFileName(entry), resolve(entry))
                : new GeneratorFile(entry[..separator], resolve(entry[(separator + 1)..]));
        }).ToList();
        var literalKeys = node.Scalars("literals").Select(l => l.Split('=', 2)[0]).ToList();
        var hashSuffix = node.At("options").Scalar("disableNameSuffixHash") switch
        {
            "true" => false,
            "false" => true,
            _ => hashByDefault,
        };
        return new Generator(kind, node.Scalar("name") ?? "", files, node.Scalars("envs").Select(resolve).ToList(), literalKeys, hashSuffix);
    }
}
