using System.Xml.Linq;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EligibilityGateway.Security;

/// <summary>
/// The ASP.NET Core data-protection key ring (which protects the page session and antiforgery cookies and the
/// federated sign-in state) in Redis, so that a cookie one replica issues opens on every other (no sticky
/// sessions). Microsoft's StackExchangeRedis repository needs StackExchange.Redis 2.x, which does not restore here.
/// Each key's XML — which holds the key material — is sealed with AES-256-GCM (<see cref="SharedAuthorizationState"/>)
/// before it is appended to the list <see cref="Key"/>, so Redis never holds a usable data-protection key.
/// </summary>
internal sealed class RedisXmlRepository(SharedAuthorizationState state) : IXmlRepository
{
    /// <summary>The Redis list of sealed key elements, oldest first.</summary>
    public const string Key = "egw:data-protection-keys:v1";

    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. state.Database.ListRange(Key).Select(value => state.Unseal<string>(Key, value)).OfType<string>().Select(xml => XElement.Parse(xml))];

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        state.Database.ListRightPush(Key, state.Seal(Key, element.ToString(SaveOptions.DisableFormatting)));
    }
}
