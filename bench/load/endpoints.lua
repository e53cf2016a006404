-- wrk script for any of the five recommendation endpoints, for users or items drawn at
-- random. Set by run.py through the environment: LEHNZ_KEY (a publishable key),
-- LEHNZ_ENDPOINT (recommend | price_optimized | item | session | basket), LEHNZ_USERS and
-- LEHNZ_ITEMS (files of ids, one a line).
local function lines(path)
  local found = {}
  for line in io.lines(path) do found[#found + 1] = line end
  return found
end
local users = lines(os.getenv("LEHNZ_USERS"))
local items = lines(os.getenv("LEHNZ_ITEMS"))
local endpoint = os.getenv("LEHNZ_ENDPOINT")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Domain"] = "commerce"
wrk.headers["X-API-KEY"] = os.getenv("LEHNZ_KEY")

local function any(list) return list[math.random(#list)] end

-- An id as one path segment: anything but unreserved characters percent-encoded.
local function segment(id)
  return (string.gsub(id, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- In JSON bodies ids go as they are: run.py keeps only ids without quotes or backslashes.
request = function()
  if endpoint == "recommend" then
    return wrk.format("POST", "/recommend", nil, '{"user_id": "' .. any(users) .. '", "limit": 12}')
  elseif endpoint == "price_optimized" then
    return wrk.format("POST", "/recommend/price_optimized", nil,
      '{"user_id": "' .. any(users) .. '", "limit": 12}')
  elseif endpoint == "item" then
    return wrk.format("GET", "/item/" .. segment(any(items)) .. "?limit=12", nil, nil)
  elseif endpoint == "session" then
    return wrk.format("POST", "/recommend/session", nil,
      '{"clicked_item_id": "' .. any(items) .. '", "limit": 12}')
  elseif endpoint == "basket" then
    return wrk.format("POST", "/recommend/basket", nil,
      '{"item_ids": ["' .. any(items) .. '", "' .. any(items) .. '"], "limit": 12}')
  end
  error("unknown LEHNZ_ENDPOINT " .. tostring(endpoint))
end

-- The first few failures, to stderr: what a failed request was answered.
local shown = 0
response = function(status, headers, body)
  if status >= 300 and shown < 5 then
    shown = shown + 1
    io.stderr:write(string.format("FAILED %d %s\n", status, string.sub(body or "", 1, 300)))
  end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
