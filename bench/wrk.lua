-- wrk script for bench/http.sh: POST the file named by $WRK_BODY as JSON
-- (a plain GET when it is unset), and print the latency tail wrk's
-- --latency table leaves out.
local path = os.getenv("WRK_BODY")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = f:read("*all")
  f:close()
end

function done(summary, latency, requests)
  io.write(string.format("tail p99.9 %.0fus max %.0fus\n",
    latency:percentile(99.9), latency.max))
end
