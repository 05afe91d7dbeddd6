-- A new, well-formed NASS number on every request, so that (almost) every check misses the cache: only the Home
-- Office is asked (DWP and HMRC know people by NI number), the provider the bulk phase keeps busy.
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local body = '{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"BENCH-SINGLE",'
    .. '"subject":{"nationalAsylumSeekerServiceNumber":"2507' .. string.format("%05d", math.random(0, 99999))
    .. '","lastName":"Bench","dateOfBirth":"1980-06-15"}}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, body)
end
