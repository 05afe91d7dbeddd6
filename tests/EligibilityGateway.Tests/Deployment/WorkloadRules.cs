using System.Globalization;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// The rules every workload (Deployment or StatefulSet) is held to, as lists of failures. The same rules check the
/// files as written (<see cref="DeploymentTests"/>) and each overlay as rendered (<see cref="RenderedOverlayTests"/>),
/// where a patch could have undone them.
/// </summary>
internal static class WorkloadRules
{
    /// <summary>The "restricted" Pod Security Standard and a little more: no service account token, no host namespaces.</summary>
    public static IEnumerable<string> Hardening(Manifest workload)
    {
        if (workload.PodSpec().Scalar("automountServiceAccountToken") != "false")
        {
            yield return $"{workload}: automountServiceAccountToken must be false";
        }

        if (workload.PodSpec().Scalar("hostNetwork") == "true" || workload.PodSpec().Scalar("hostPID") == "true")
        {
            yield return $"{workload}: must not share the host's network or process namespace";
        }

        foreach (var container in workload.AllContainers())
        {
            var where = workload.Describe(container);
            var security = container.At("securityContext");
            if (workload.EffectiveSecurity(container, "runAsNonRoot") != "true")
            {
                yield return $"{where}: runAsNonRoot must be true";
            }

            // A numeric user lets the kubelet verify non-root before start; a named USER in the image cannot be checked.
            var user = workload.EffectiveSecurity(container, "runAsUser");
            if (!long.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid == 0)
            {
                yield return $"{where}: runAsUser must be a non-zero number, found '{user}'";
            }

            if (workload.EffectiveSecurity(container, "seccompProfile.type") != "RuntimeDefault")
            {
                yield return $"{where}: seccompProfile must be RuntimeDefault";
            }

            if (security.Scalar("readOnlyRootFilesystem") != "true")
            {
                yield return $"{where}: readOnlyRootFilesystem must be true";
            }

            if (security.Scalar("allowPrivilegeEscalation") != "false")
            {
                yield return $"{where}: allowPrivilegeEscalation must be false";
            }

            if (security.Scalar("privileged") == "true")
            {
                yield return $"{where}: must not be privileged";
            }

            if (!security.At("capabilities").Scalars("drop").Contains("ALL") || security.At("capabilities").Scalars("add").Count > 0)
            {
                yield return $"{where}: must drop ALL capabilities and add none";
            }
        }
    }

    public static IEnumerable<string> Resources(Manifest workload)
    {
        foreach (var container in workload.AllContainers())
        {
            foreach (var bound in new[] { "requests", "limits" })
            {
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    if (string.IsNullOrWhiteSpace(container.At($"resources.{bound}").Scalar(resource)))
                    {
                        yield return $"{workload.Describe(container)}: no resources.{bound}.{resource}";
                    }
                }
            }
        }
    }

    /// <summary>Every container says when it is alive and when it may take traffic.</summary>
    public static IEnumerable<string> Probes(Manifest workload)
    {
        foreach (var container in workload.Containers())
        {
            foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
            {
                var handler = container.Mapping(probe);
                if (handler is null || new[] { "httpGet", "tcpSocket", "exec", "grpc" }.All(h => handler.Child(h) is null))
                {
                    yield return $"{workload.Describe(container)}: no {probe}";
                }
            }
        }
    }

    /// <summary>With a read-only root filesystem, <c>/tmp</c> must be a writable <c>emptyDir</c>.</summary>
    public static IEnumerable<string> WritableTmp(Manifest workload)
    {
        var emptyDirs = workload.PodSpec().Mappings("volumes")
            .Where(v => v.Child("emptyDir") is not null)
            .Select(v => v.Scalar("name"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var container in workload.Containers())
        {
            var tmp = container.Mappings("volumeMounts").SingleOrDefault(m => m.Scalar("mountPath") == "/tmp");
            if (tmp is null || !emptyDirs.Contains(tmp.Scalar("name")) || tmp.Scalar("readOnly") == "true")
            {
                yield return $"{workload.Describe(container)}: /tmp must be a writable emptyDir when the root filesystem is read-only";
            }
        }
    }

    public static IEnumerable<string> SelectsItsOwnPods(Manifest workload)
    {
        var selector = workload.Document.At("spec.selector").StringMap("matchLabels");
        var labels = workload.PodLabels();
        if (selector.Count == 0 || selector.Any(s => labels.GetValueOrDefault(s.Key) != s.Value))
        {
            yield return $"{workload}: selector {string.Join(",", selector)} does not match pod labels {string.Join(",", labels)}";
        }

        if (!labels.ContainsKey("app.kubernetes.io/name") || !labels.ContainsKey("app.kubernetes.io/component"))
        {
            yield return $"{workload}: pod template needs app.kubernetes.io/name and app.kubernetes.io/component";
        }
    }
}
