using System.Diagnostics.CodeAnalysis;

namespace MockCentralGovernment.Population;

/// <summary>
/// Everyone the three providers hold, indexed for lookups in O(1): by normalised NI number (DWP, HMRC), by NASS
/// number (Home Office) and by DWP citizen id. Built once at start and never changed, so reads need no locks.
/// </summary>
internal sealed class PopulationStore
{
    private readonly Dictionary<string, DwpCitizen> _dwpByNi = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, DwpCitizen> _dwpByCitizenId = [];
    private readonly Dictionary<string, TaxCreditsRecord> _hmrcByNi = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AsylumSupportRecord> _homeOfficeByNass = new(StringComparer.Ordinal);

    public PopulationStore(IReadOnlyList<PopulationMember> fixtures, IReadOnlyList<PopulationMember> synthetic)
    {
        Fixtures = fixtures;
        Synthetic = synthetic;
        foreach (var member in fixtures.Concat(synthetic))
        {
            if (member.Dwp is { } dwp)
            {
                Add(_dwpByNi, dwp.NationalInsuranceNumber, dwp);
                Add(_dwpByCitizenId, dwp.CitizenId, dwp);
            }

            if (member.Hmrc is { } hmrc)
            {
                Add(_hmrcByNi, hmrc.NationalInsuranceNumber, hmrc);
            }

            if (member.HomeOffice is { } homeOffice)
            {
                Add(_homeOfficeByNass, homeOffice.NationalAsylumSeekerServiceNumber, homeOffice);
            }
        }
    }

    /// <summary>The named fixtures (Smith, Jones, Taylor, Brown, Khan).</summary>
    public IReadOnlyList<PopulationMember> Fixtures { get; }

    /// <summary>The seeded synthetic population, in generation order (tests enumerate it).</summary>
    public IReadOnlyList<PopulationMember> Synthetic { get; }

    public int DwpCount => _dwpByNi.Count;

    public int HmrcCount => _hmrcByNi.Count;

    public int HomeOfficeCount => _homeOfficeByNass.Count;

    public static PopulationStore Create(long seed, int size)
    {
        var reserved = Population.Fixtures.All
            .SelectMany(f => new[] { f.NationalInsuranceNumber, f.NationalAsylumSeekerServiceNumber })
            .OfType<string>();
        return new PopulationStore(Population.Fixtures.All, SyntheticPopulation.Generate(seed, size, reserved));
    }

    /// <param name="nationalInsuranceNumber">Already normalised (trimmed, no spaces, upper case).</param>
    public bool TryMatchDwp(string nationalInsuranceNumber, string lastName, DateOnly dateOfBirth, [NotNullWhen(true)] out DwpCitizen? citizen) =>
        _dwpByNi.TryGetValue(nationalInsuranceNumber, out citizen) && Same(citizen.LastName, citizen.DateOfBirth, lastName, dateOfBirth)
        || Clear(out citizen);

    public bool TryFindCitizen(Guid citizenId, [NotNullWhen(true)] out DwpCitizen? citizen) =>
        _dwpByCitizenId.TryGetValue(citizenId, out citizen);

    public bool TryMatchHmrc(string nationalInsuranceNumber, string lastName, DateOnly dateOfBirth, [NotNullWhen(true)] out TaxCreditsRecord? record) =>
        _hmrcByNi.TryGetValue(nationalInsuranceNumber, out record) && Same(record.LastName, record.DateOfBirth, lastName, dateOfBirth)
        || Clear(out record);

    public bool TryMatchHomeOffice(string nassNumber, string lastName, DateOnly dateOfBirth, [NotNullWhen(true)] out AsylumSupportRecord? record) =>
        _homeOfficeByNass.TryGetValue(nassNumber, out record) && Same(record.LastName, record.DateOfBirth, lastName, dateOfBirth)
        || Clear(out record);

    // Matched on identifier + date of birth + surname, the surname compared case-insensitively (ordinal, so the answer
    // does not depend on the server's culture).
    private static bool Same(string heldLastName, DateOnly heldDateOfBirth, string lastName, DateOnly dateOfBirth) =>
        heldDateOfBirth == dateOfBirth && string.Equals(heldLastName, lastName, StringComparison.OrdinalIgnoreCase);

    private static bool Clear<T>(out T? value)
        where T : class
    {
        value = null;
        return false;
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, TValue> index, TKey key, TValue value)
        where TKey : notnull
    {
        if (!index.TryAdd(key, value))
        {
            throw new InvalidOperationException("The population holds a duplicate identifier; the generator must keep identifiers unique.");
        }
    }
}
