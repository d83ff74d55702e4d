-- GET /auth/me, rotating over the bearer tokens in the file named by TOKENS_FILE.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local next_token = 0
request = function()
  next_token = (next_token % #tokens) + 1
  return wrk.format("GET", "/auth/me", { ["Authorization"] = "Bearer " .. tokens[next_token] })
end
