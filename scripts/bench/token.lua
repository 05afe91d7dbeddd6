-- Client-credentials token requests (RFC 6749 §4.4) with client_secret_basic, the sandbox council's secret.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=eligibility.check"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic bGVlZHM6bGVlZHMtc2FuZGJveC1zZWNyZXQ="
