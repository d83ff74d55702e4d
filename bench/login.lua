-- POST /auth/login with the right password, rotating over the accounts in ACCOUNTS_FILE
-- (one "email password" pair a line).
local bodies = {}
for line in io.lines(os.getenv("ACCOUNTS_FILE")) do
  local email, password = line:match("^(%S+) (%S+)$")
  bodies[#bodies + 1] = string.format('{"email": "%s", "password": "%s"}', email, password)
end
local next_body = 0
request = function()
  next_body = (next_body % #bodies) + 1
  return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, bodies[next_body])
end
