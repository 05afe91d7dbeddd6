-- A new, well-formed NI number on every request, so that (almost) every check misses the cache and asks
-- the providers: DWP and HMRC are called, the Home Office is not (it is asked only about NASS numbers).
local first = "ABCEGHJKLMNOPRSTWXYZ"
local second = "ABCEGHJKLMNPRSTWXYZ"
local suffix = "ABCD"

local function pick(letters)
  local i = math.random(#letters)
  return letters:sub(i, i)
end

local function ni()
  local prefix
  repeat
    prefix = pick(first) .. pick(second)
  until prefix ~= "BG" and prefix ~= "GB" and prefix ~= "NK" and prefix ~= "KN"
    and prefix ~= "TN" and prefix ~= "NT" and prefix ~= "ZZ"
  return prefix .. string.format("%06d", math.random(0, 999999)) .. pick(suffix)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local body = '{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"BENCH-LIVE",'
    .. '"subject":{"nationalInsuranceNumber":"' .. ni() .. '","lastName":"Bench","dateOfBirth":"1980-06-15"}}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, body)
end
