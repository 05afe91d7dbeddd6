using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace EligibilityGateway.Security;

/// <summary>
/// Seals each ASP.NET Core data-protection key's secret at rest: before a new key is stored, the key manager hands it
/// the part of the key's descriptor that holds the key material (<c>&lt;masterKey&gt;</c>) and stores what this returns
/// in its place; the key's id, dates and algorithms stay readable. AES-256-GCM (<see cref="SealedEnvelope"/>)
/// under a key derived (HKDF) from the cache encryption key, so a reader of the key ring's store (Redis, shared by the
/// replicas) never holds a usable data-protection key, and a replica mounting the same key directory opens it.
/// </summary>
/// <remarks>
/// Takes the service provider rather than the key ring, as the key manager's decryptors do
/// (<see cref="SealedXmlDecryptor"/>): data-protection options are read while the application is built, and the key
/// ring is loaded only when a key is first sealed.
/// </remarks>
internal sealed class SealedXmlEncryptor(IServiceProvider services) : IXmlEncryptor
{
    /// <summary>The element a sealed descriptor is stored as: base64 of the envelope.</summary>
    public static readonly XName ElementName = "sealedDescriptor";

    /// <summary>The envelope's format version.</summary>
    internal const byte FormatVersion = 1;

    /// <summary>What the envelope authenticates besides its version: the purpose, so no other sealed value passes for a key.</summary>
    internal static ReadOnlySpan<byte> AssociatedData => "eligibility-gateway/data-protection-key"u8;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        try
        {
            var sealedValue = SealedEnvelope.Seal(SealingKey(services), FormatVersion, plaintext, AssociatedData);
            return new EncryptedXmlInfo(new XElement(ElementName, Convert.ToBase64String(sealedValue)), typeof(SealedXmlDecryptor));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>The sealing key, derived from the cache encryption key for this purpose alone.</summary>
    internal static byte[] SealingKey(IServiceProvider services) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, services.GetRequiredService<KeyRing>().CacheEncryptionKey, 32, salt: [], info: "eligibility-gateway/data-protection-keys/v2"u8.ToArray());
}

/// <summary>
/// Opens what <see cref="SealedXmlEncryptor"/> sealed. The key manager makes it by type name, from the
/// <c>decryptorType</c> the stored key names, with the service provider.
/// </summary>
internal sealed class SealedXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    /// <exception cref="CryptographicException">The element was altered, or sealed under another cache encryption key.</exception>
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        byte[] sealedValue;
        try
        {
            sealedValue = Convert.FromBase64String(encryptedElement.Value);
        }
        catch (FormatException)
        {
            throw new CryptographicException("A data-protection key is not a sealed descriptor.");
        }

        var plaintext = SealedEnvelope.Open(SealedXmlEncryptor.SealingKey(services), SealedXmlEncryptor.FormatVersion, sealedValue, SealedXmlEncryptor.AssociatedData)
            ?? throw new CryptographicException("A data-protection key does not open: altered, or sealed under another cache encryption key.");
        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
