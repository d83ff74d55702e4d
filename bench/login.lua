-- POST /auth/login with the right password, rotating over the accounts in ACCOUNTS_FILE
-- (one "email password" pair a line). The requests are formatted once per wrk thread.
local requests = {}
local next_request = 0
init = function()
  for line in io.lines(os.getenv("ACCOUNTS_FILE")) do
    local email, password = line:match("^(%S+) (%S+)$")
    local body = string.format('{"email": "%s", "password": "%s"}', email, password)
    requests[#requests + 1] = wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
  end
end
request = function()
  next_request = (next_request % #requests) + 1
  return requests[next_request]
end
