-- The same subject every time: after the first answer, every check is served from the cache.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"BENCH-CACHED",'
  .. '"subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}}'

