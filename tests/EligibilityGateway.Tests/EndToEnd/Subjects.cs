namespace EligibilityGateway.Tests.EndToEnd;

/// <summary>The sandbox fixtures as check bodies, and the personal data no log or cache may ever hold.</summary>
internal static class Subjects
{
    public const string Smith = """{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""";
    public const string Jones = """{"nationalInsuranceNumber":"CE234567A","lastName":"Jones","dateOfBirth":"1985-05-15"}""";
    public const string Taylor = """{"nationalInsuranceNumber":"EH345678B","lastName":"Taylor","dateOfBirth":"1978-11-30"}""";
    public const string Brown = """{"nationalInsuranceNumber":"JK456789C","lastName":"Brown","dateOfBirth":"1992-02-29"}""";
    public const string Khan = """{"nationalAsylumSeekerServiceNumber":"240712349","lastName":"Khan","dateOfBirth":"1990-01-01"}""";

    /// <summary>Every identifier, surname and birth date of the fixtures, in the forms they could be written.</summary>
    public static readonly string[] PersonalData =
    [
        "AB123456C", "CE234567A", "EH345678B", "JK456789C", "240712349",
        "AB 12 34 56 C", "ab123456c",
        "Smith", "Jones", "Taylor", "Brown", "Khan",
        "1990-01-01", "1985-05-15", "1978-11-30", "1992-02-29", "01/01/1990", "19900101",
    ];

    public static string Check(string subject, string scheme = "free-school-meals", string basis = "public-task", string caseReference = "FSM-2026-000123") =>
        $$"""{"scheme":"{{scheme}}","lawfulBasis":"{{basis}}","caseReference":"{{caseReference}}","subject":{{subject}}}""";
}
