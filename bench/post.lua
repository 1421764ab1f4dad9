-- wrk script: POST the body in the file named by $WRK_BODY as JSON.
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*all")
f:close()
