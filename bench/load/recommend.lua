-- wrk script: POST /recommend for users drawn at random from users.txt (one id a line),
-- with the key and domain headers lehnz wants. Set by run.py through the environment:
-- LEHNZ_KEY (a publishable key) and LEHNZ_USERS (the file of user ids).
local users = {}
for line in io.lines(os.getenv("LEHNZ_USERS")) do users[#users + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Domain"] = "commerce"
wrk.headers["X-API-KEY"] = os.getenv("LEHNZ_KEY")

request = function()
  local user = users[math.random(#users)]
  return wrk.format(nil, "/recommend", nil, '{"user_id": "' .. user .. '", "limit": 12}')
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
