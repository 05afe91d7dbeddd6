-- The ceiling: a POST answered with a check-sized JSON document and no work.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{}"
