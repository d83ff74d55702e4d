-- GET /auth/me, rotating over the bearer tokens in the file named by TOKENS_FILE. The requests
-- are formatted once per wrk thread (in init, once the Host header is known): wrk shares the
-- cores with the servers it measures.
local requests = {}
local next_request = 0
init = function()
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    requests[#requests + 1] = wrk.format("GET", "/auth/me", { ["Authorization"] = "Bearer " .. line })
  end
end
request = function()
  next_request = (next_request % #requests) + 1
  return requests[next_request]
end
