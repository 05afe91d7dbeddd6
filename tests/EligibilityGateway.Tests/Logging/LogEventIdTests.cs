using System.Reflection;
using EligibilityGateway.Audit;
using EligibilityGateway.Sandbox;
using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Tests.Logging;

/// <summary>
/// Operators alert and search on event ids, so each id names one kind of event across the gateway and the sandbox:
/// two log messages sharing an id would make a dashboard count one as the other.
/// </summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogMessage_HasAnEventIdOfItsOwn()
    {
        var messages = new[] { typeof(AuditLog).Assembly, typeof(SandboxHost).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(method => (Method: $"{method.DeclaringType!.FullName}.{method.Name}", Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        messages.Should().HaveCountGreaterThan(50, "the gateway logs through source-generated LoggerMessage methods");
        messages.Should().OnlyContain(m => m.Attribute!.EventId > 0, "every message has an explicit event id");
        messages.GroupBy(m => m.Attribute!.EventId)
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key}: {string.Join(", ", group.Select(m => m.Method))}")
            .Should().BeEmpty();
    }
}
