// Starts GOV.UK Frontend's components (error summary focus, password reveal, skip link, service navigation).
// A module file rather than an inline script, so that the Content-Security-Policy needs no 'unsafe-inline'.
import { initAll } from '/govuk/govuk-frontend.min.js'

initAll()
