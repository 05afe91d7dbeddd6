using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EligibilityGateway.Sandbox.Demo;

/// <summary>
/// The demo council's HTML, in the GOV.UK Design System's markup with the stylesheet the gateway already serves. Every
/// value written into a page goes through <see cref="H"/>, the HTML encoder. No page needs a script.
/// </summary>
internal static class DemoPages
{
    public const string FieldCouncil = "council";
    public const string FieldScheme = "scheme";
    public const string FieldCaseReference = "caseReference";
    public const string FieldAntiforgery = "__DemoRequestVerificationToken";

    /// <summary>The officer's form: which council acts, for which scheme, under which case reference.</summary>
    public static string Start(DemoSession session, string? caseReference, string? error, bool hasAnswer)
    {
        var errorSummary = ErrorSummary(FieldCaseReference, error);
        var lastAnswer = hasAnswer
            ? $"""<p class="govuk-body"><a class="govuk-link" href="{DemoCouncilEndpoints.AnswerPath}">See the last answer</a></p>"""
            : "";
        var body = $"""
            {errorSummary}
            <span class="govuk-caption-l">Caseworker system</span>
            <h1 class="govuk-heading-l">Check a resident's eligibility</h1>
            <p class="govuk-body">This page plays a council's own system. It asks Eligibility Gateway as any council's system would, over HTTP:
              it creates a consent, pushes an authorization request protected by PKCE, and sends the resident's browser to the gateway,
              where they sign in and decide. If they allow it, this system exchanges the code for a token bound to their consent and
              makes the check.</p>
            <div class="govuk-inset-text">Sandbox residents sign in with their surname in lower case, such as <code>smith</code>, and the password <code>sandbox</code>.</div>
            {lastAnswer}
            <form method="post" action="{DemoCouncilEndpoints.StartPath}" novalidate>
              <input type="hidden" name="{FieldAntiforgery}" value="{H(session.AntiforgeryToken)}">
              {CouncilAndScheme()}
              <div class="govuk-form-group{(error is null ? "" : " govuk-form-group--error")}">
                <h2 class="govuk-label-wrapper"><label class="govuk-label govuk-label--m" for="{FieldCaseReference}">Case reference</label></h2>
                <div id="{FieldCaseReference}-hint" class="govuk-hint">The council's own reference for this application, such as FSM-2026-000123.</div>
                {(error is null ? "" : $"""<p id="{FieldCaseReference}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> {H(error)}</p>""")}
                <input class="govuk-input govuk-input--width-20{(error is null ? "" : " govuk-input--error")}" id="{FieldCaseReference}" name="{FieldCaseReference}" type="text" spellcheck="false"
                  value="{H(caseReference ?? "")}" aria-describedby="{FieldCaseReference}-hint{(error is null ? "" : $" {FieldCaseReference}-error")}">
              </div>
              <button type="submit" class="govuk-button" data-module="govuk-button">Ask the resident for consent</button>
            </form>
            """;
        return Layout(error is null ? "Check a resident's eligibility" : "Error: Check a resident's eligibility", body);
    }

    /// <summary>What the last step came to, with <b>Check again</b> while the council holds a token.</summary>
    public static string Answer(DemoSession session)
    {
        var council = session.Council?.Name ?? "The council";
        var scheme = session.Scheme?.Name ?? "the scheme";
        var (heading, content) = session.Result switch
        {
            DemoResult.Answered answered => Answered(answered, session, scheme),
            DemoResult.Refused refused => Refused(refused, council),
            DemoResult.NotAuthorised denied => NotAuthorised(denied, council),
            _ => ("Nothing to show yet", """<p class="govuk-body">No check has been made in this visit.</p>"""),
        };
        var checkAgain = session.Tokens is null ? "" : $"""
            <form method="post" action="{DemoCouncilEndpoints.CheckAgainPath}" novalidate>
              <input type="hidden" name="{FieldAntiforgery}" value="{H(session.AntiforgeryToken)}">
              <button type="submit" class="govuk-button" data-module="govuk-button">Check again</button>
            </form>
            """;
        var body = $"""
            <span class="govuk-caption-l">{H(council)}, case {H(session.CaseReference ?? "")}</span>
            {content}
            <h2 class="govuk-heading-m">What next</h2>
            <p class="govuk-body">{(session.Result is DemoResult.Answered
                ? "The council may check again under the same consent for as long as the resident lets it. The resident can withdraw it in their account on the gateway; the next check is then refused."
                : "The resident's account on the gateway lists every consent they gave and every check made about them.")}
              <a class="govuk-link" href="/account">Open the resident's account</a>.</p>
            <div class="govuk-button-group">
              {checkAgain}
              <a class="govuk-link" href="{DemoCouncilEndpoints.BasePath}">Start again</a>
            </div>
            """;
        return Layout(heading, body);
    }

    /// <summary>A request the demo will not act on (forged, replayed, or from an expired visit).</summary>
    public static string Problem(string heading, string explanation) => Layout(heading, $"""
        <h1 class="govuk-heading-l">{H(heading)}</h1>
        <p class="govuk-body">{H(explanation)}</p>
        <p class="govuk-body"><a class="govuk-link" href="{DemoCouncilEndpoints.BasePath}">Start again</a></p>
        """);

    private static (string Heading, string Content) Answered(DemoResult.Answered answered, DemoSession session, string scheme)
    {
        var json = answered.Answer;
        var outcome = Text(json, "outcome");
        var (heading, explanation) = outcome switch
        {
            "eligible" => ($"Eligible for {scheme.ToLowerInvariant()}", "A department holds what makes the resident qualify. The council learns this answer and nothing more."),
            "not-eligible" => ($"Not eligible for {scheme.ToLowerInvariant()}", "The departments asked answered, and none holds what the scheme needs."),
            "undetermined" => ($"Undetermined for {scheme.ToLowerInvariant()}", "At least one department could not answer in time, so the gateway would not say no. Ask again later, or ask the resident for evidence."),
            "not-found" => ("Resident not found", "No department asked holds a record matching the resident's verified identity."),
            _ => ($"Answer: {outcome}", "The gateway answered with an outcome this page does not describe."),
        };
        // GOV.UK's confirmation panel says "done and good"; any other outcome is a heading and a tag, as its guidance has it.
        var banner = outcome == "eligible"
            ? $"""
              <div class="govuk-panel govuk-panel--confirmation" id="answer">
                <h1 class="govuk-panel__title">{H(heading)}</h1>
                <div class="govuk-panel__body">Outcome <strong>{H(outcome)}</strong></div>
              </div>
              """
            : $"""
              <div id="answer">
                <h1 class="govuk-heading-l">{H(heading)}</h1>
                <p class="govuk-body">Outcome <strong class="govuk-tag {(outcome == "undetermined" ? "govuk-tag--yellow" : "govuk-tag--grey")}">{H(outcome ?? "")}</strong></p>
              </div>
              """;
        var content = $"""
            {banner}
            <p class="govuk-body">{H(explanation)}</p>
            <dl class="govuk-summary-list">
              {Row("Check", answered.CheckNumber.ToString(CultureInfo.InvariantCulture) + (answered.CheckNumber == 1 ? " (the first under this consent in this visit)" : " in this visit"))}
              {Row("Lawful basis", Text(json, "lawfulBasis"))}
              {Row("Consent", Text(json, "consentId") ?? session.ConsentId)}
              {Row("Check id", Text(json, "checkId"))}
              {Row("Checked at", Time(Text(json, "checkedAt")))}
              {Row("Answer from", Text(json, "servedFrom") == "cache" ? "the gateway's cache" : "the departments, live")}
              {Row("Audit record", json.TryGetProperty("auditSequence", out var sequence) ? sequence.ToString() : null)}
            </dl>
            """;
        return (heading, content);
    }

    private static (string Heading, string Content) Refused(DemoResult.Refused refused, string council)
    {
        var explanation = refused switch
        {
            { Status: 409, ConsentStatus: "revoked" } => "The resident withdrew their consent, so the gateway refuses every further check under it. " +
                "The council must not ask again under this consent; it may ask the resident for a new one.",
            { Status: 409, ConsentStatus: "expired" } => "The consent has expired, so the gateway refuses further checks under it.",
            { Status: 409 } => "The consent cannot be used for a check in its present state.",
            { Title: "invalid_grant" } => "The gateway no longer accepts the council's grant: the consent behind it may have been withdrawn.",
            { Title: "invalid_request", Step: var step } when step.Contains("/connect/par", StringComparison.Ordinal) =>
                "The gateway refused the authorization request. If it names the redirect URI, the trust framework does not list this demo's " +
                "callback for the council: the sandbox lists http://127.0.0.1:8080/demo/callback and http://localhost:8080/demo/callback, so " +
                "a sandbox started on another address needs its own line in the framework (the gateway reloads the file).",
            _ => "The gateway refused this step. Its answer is below, as it gave it.",
        };
        var heading = refused.Status == 409 ? "The gateway refused the check" : "The gateway refused a step";
        var content = $"""
            <h1 class="govuk-heading-l">{H(heading)}</h1>
            <div class="govuk-warning-text">
              <span class="govuk-warning-text__icon" aria-hidden="true">!</span>
              <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>{H(explanation)}</strong>
            </div>
            <dl class="govuk-summary-list" id="refusal">
              {Row("Step", refused.Step)}
              {Row("HTTP status", refused.Status.ToString(CultureInfo.InvariantCulture) + " " + ReasonPhrase(refused.Status))}
              {Row(refused.Type is null ? "Error" : "Title", refused.Title)}
              {Row(refused.Type is null ? "Description" : "Detail", refused.Detail)}
              {Row("Problem type", refused.Type)}
              {Row("Consent status", refused.ConsentStatus)}
            </dl>
            <p class="govuk-body">{H(council)} sees only this refusal; nothing about the resident comes with it.</p>
            """;
        return (heading, content);
    }

    private static (string Heading, string Content) NotAuthorised(DemoResult.NotAuthorised denied, string council)
    {
        var heading = denied.Error == "access_denied" ? "The resident did not give consent" : "The authorization did not complete";
        var content = $"""
            <h1 class="govuk-heading-l">{H(heading)}</h1>
            <p class="govuk-body">{H(denied.Error == "access_denied"
                ? $"The resident pressed Deny, so {council} may not make the check. Nothing was checked."
                : "The gateway sent the resident back without a code. Nothing was checked.")}</p>
            <dl class="govuk-summary-list">
              {Row("Error", denied.Error)}
              {Row("Description", denied.Description)}
            </dl>
            """;
        return (heading, content);
    }

    internal static string Layout(string title, string body, string head = "") => $"""
        <!DOCTYPE html>
        <html lang="en-GB" class="govuk-template">
        <head>
          <meta charset="utf-8">
          <title>{H(title)} – Demo council</title>
          <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
          <meta name="theme-color" content="#0b0c0c">
          <link rel="icon" href="/icon.svg" type="image/svg+xml">
          <link rel="stylesheet" href="/govuk/govuk-frontend.min.css">
          {head}
        </head>
        <body class="govuk-template__body">
          <a href="#main-content" class="govuk-skip-link">Skip to main content</a>
          <header class="govuk-template__header">
            <div class="govuk-generic-header">
              <div class="govuk-generic-header__container govuk-width-container">
                <div class="govuk-generic-header__logo">
                  <a href="{DemoCouncilEndpoints.BasePath}" class="govuk-generic-header__homepage-link">Demo council</a>
                </div>
              </div>
            </div>
            <section aria-label="Service information" class="govuk-service-navigation">
              <div class="govuk-width-container">
                <div class="govuk-service-navigation__container">
                  <span class="govuk-service-navigation__service-name">
                    <a href="{DemoCouncilEndpoints.BasePath}" class="govuk-service-navigation__link">Check eligibility (caseworker)</a>
                  </span>
                </div>
              </div>
            </section>
          </header>
          <div class="govuk-width-container">
            <div class="govuk-phase-banner">
              <p class="govuk-phase-banner__content">
                <strong class="govuk-tag govuk-phase-banner__content__tag">Demo</strong>
                <span class="govuk-phase-banner__text">A council's system played by the sandbox: every person, council and answer here is test data.</span>
              </p>
            </div>
            <main class="govuk-main-wrapper" id="main-content">
              <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
              {body}
              </div></div>
            </main>
          </div>
          <footer class="govuk-footer">
            <div class="govuk-width-container">
              <div class="govuk-footer__meta">
                <div class="govuk-footer__meta-item govuk-footer__meta-item--grow">
                  <p class="govuk-body-s govuk-!-margin-bottom-0">This demo is an ordinary OAuth client of the gateway beside it; see src/EligibilityGateway.Sandbox/Demo/README.md.</p>
                </div>
              </div>
            </div>
          </footer>
        </body>
        </html>
        """;

    /// <summary>The officer's choice of council and scheme, as GOV.UK radios with the first of each chosen.</summary>
    internal static string CouncilAndScheme()
    {
        var councils = string.Concat(DemoCouncil.All.Select((c, i) => Radio(FieldCouncil, c.ClientId, c.Name, i == 0)));
        var schemes = string.Concat(DemoScheme.All.Select((s, i) => Radio(FieldScheme, s.Id, s.Name, i == 0)));
        return $"""
              <div class="govuk-form-group">
                <fieldset class="govuk-fieldset">
                  <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">Council</legend>
                  <div class="govuk-radios" data-module="govuk-radios">{councils}</div>
                </fieldset>
              </div>
              <div class="govuk-form-group">
                <fieldset class="govuk-fieldset">
                  <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">Scheme</legend>
                  <div class="govuk-radios" data-module="govuk-radios">{schemes}</div>
                </fieldset>
              </div>
            """;
    }

    /// <summary>The GOV.UK error summary for a form with one field in error, linking to it; empty without an error.</summary>
    internal static string ErrorSummary(string fieldId, string? error) => error is null ? "" : $"""
        <div class="govuk-error-summary" data-module="govuk-error-summary">
          <div role="alert">
            <h2 class="govuk-error-summary__title">There is a problem</h2>
            <div class="govuk-error-summary__body">
              <ul class="govuk-list govuk-error-summary__list"><li><a href="#{fieldId}">{H(error)}</a></li></ul>
            </div>
          </div>
        </div>
        """;

    private static string Radio(string name, string value, string label, bool isChecked)
    {
        var id = name + "-" + value;
        return $"""
            <div class="govuk-radios__item">
              <input class="govuk-radios__input" id="{H(id)}" name="{H(name)}" type="radio" value="{H(value)}"{(isChecked ? " checked" : "")}>
              <label class="govuk-label govuk-radios__label" for="{H(id)}">{H(label)}</label>
            </div>
            """;
    }

    private static string Row(string key, string? value) => value is null ? "" : $"""
        <div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{H(key)}</dt><dd class="govuk-summary-list__value">{H(value)}</dd></div>
        """;

    private static string? Text(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A time as the gateway's pages write one: GOV.UK style, UK time.</summary>
    private static string? Time(string? iso) =>
        DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant)
            ? EligibilityGateway.Pages.AccountText.When(instant) + " (UK time)"
            : iso;

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    /// <summary>HTML-encodes <paramref name="value"/> for text and double-quoted attributes.</summary>
    internal static string H(string value) => HtmlEncoder.Default.Encode(value);
}
