-- wrk script of `python -m bench load`: counts the responses that are not a 200 holding the
-- expected text (a redirect to the sign-in page would count), and prints one line of JSON.
--   wrk ... -s bench/wrk_report.lua URL -- "expected text"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1] or ""
  bad = 0
end

function response(status, headers, body)
  if status ~= 200 or (expected ~= "" and not string.find(body, expected, 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "wrong": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, wrong,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
