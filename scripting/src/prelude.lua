-- The sandbox around user code, loaded once per Lua state. The error handler and the
-- engine's position lookups skip frames of this chunk ("=corecache").
local I, STRICT_NAME = ...
local rawget, rawset, rawequal = rawget, rawset, rawequal
local setmetatable, getmetatable = setmetatable, getmetatable
local error, type, tostring, next, select = error, type, tostring, next, select
local loadstring_raw = loadstring
local getinfo = debug.getinfo
local RAISE = I.RAISE
-- Stripped chunks lose their name: Lua 5.1 calls them "=?" (user code cannot load
-- binary chunks, so only these frames have it).
local INTERNAL = "=corecache"

local real_of = setmetatable({}, { __mode = "k" })
-- The engine's encoders look through proxies with it.
I.real_of = real_of
local proxies = {}
-- The engine checks them for raw writes after a run (see I.scrub).
I.proxies = proxies

local function ro_error()
  error("Attempt to modify a readonly table", 2)
end

-- What getmetatable returns for protected tables: a table, as in Redis, that leads
-- nowhere.
local frozen_mt = setmetatable({}, { __newindex = ro_error, __metatable = false })
proxies[#proxies + 1] = frozen_mt

local function protect(real, strict_name)
  local proxy = {}
  local mt = { __newindex = ro_error, __metatable = frozen_mt }
  if strict_name then
    mt.__index = function(_, k)
      local v = real[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
  else
    mt.__index = real
  end
  setmetatable(proxy, mt)
  real_of[proxy] = real
  proxies[#proxies + 1] = proxy
  return proxy
end
I.protect = protect

-- The globals: an empty proxy whose __index is a backing table the engine switches
-- (the load-time API while a function library loads, the runtime globals otherwise).
-- Reads of present globals stay table lookups; a missing one reaches the backing's
-- own metatable, which raises Redis's error at the reader's line.
local function missing_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local strict_mt = { __index = missing_global, __metatable = false }
local backing = setmetatable({}, strict_mt)
local G = {}
local gmt = { __index = backing, __newindex = ro_error, __metatable = frozen_mt }
setmetatable(G, gmt)
proxies[#proxies + 1] = G
I.G = G
function I.set_backing(t)
  if getmetatable(t) == nil then
    setmetatable(t, strict_mt)
  end
  backing = t
  gmt.__index = t
end

local function real(t)
  if rawequal(t, G) then
    return backing
  end
  return real_of[t]
end

local function check(first, ...)
  if rawequal(first, RAISE) then
    error((...), 0)
  end
  return first, ...
end
I.check = check

function I.wrap(f)
  return function(...)
    return check(f(...))
  end
end

local function argerror(n, fname, expected, v)
  local got = v == nil and "no value" or type(v)
  error("bad argument #" .. n .. " to '" .. fname .. "' (" .. expected .. " expected, got " .. got .. ")", 3)
end

local B = {}
I.builtins = B
function B.rawset(t, k, v)
  if type(t) == "table" and (real(t) or rawequal(t, frozen_mt)) then
    error("Attempt to modify a readonly table", 0)
  end
  return rawset(t, k, v)
end
function B.rawget(t, k)
  if type(t) == "table" then
    local r = real(t)
    if r then
      return rawget(r, k)
    end
  end
  return rawget(t, k)
end
function B.setmetatable(t, mt)
  if type(t) == "table" and (real(t) or rawequal(t, frozen_mt)) then
    error("Attempt to modify a readonly table", 0)
  end
  return setmetatable(t, mt)
end
local function w_next(t, k)
  if type(t) ~= "table" then
    argerror(1, "next", "table", t)
  end
  return next(real(t) or t, k)
end
B.next = w_next
function B.pairs(t)
  if type(t) ~= "table" then
    argerror(1, "pairs", "table", t)
  end
  return w_next, t, nil
end
-- Redis 7's pcall: an error raised as a table with an err field (redis.call's) reaches
-- the caller as that string.
local function pcall_result(ok, ...)
  if ok then
    return true, ...
  end
  local e = ...
  if type(e) == "table" then
    local m = rawget(e, "err")
    if type(m) == "string" or type(m) == "number" then
      e = m
    end
  end
  return false, e
end
local pcall_raw = pcall
function B.pcall(...)
  if select("#", ...) == 0 then
    -- Redis's pcall calls its first stack slot, a boolean, when given nothing.
    return false, "attempt to call a boolean value"
  end
  return pcall_result(pcall_raw(...))
end

local function no_binary(s)
  if type(s) == "string" and s:byte(1) == 27 then
    return nil, "binary chunks are not allowed"
  end
end
function B.loadstring(s, name)
  local f, e = no_binary(s)
  if e then
    return f, e
  end
  return loadstring_raw(s, name)
end
function B.load(reader, name)
  if type(reader) ~= "function" then
    argerror(1, "load", "function", reader)
  end
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then
      break
    end
    if type(piece) ~= "string" then
      return nil, "reader function must return a string"
    end
    parts[#parts + 1] = piece
  end
  return B.loadstring(table.concat(parts), name or "=(load)")
end

-- Redis's error handler: turns any error into a table with err, source and line, the
-- position being the innermost user frame.
local function handler(err)
  local level = 2
  local info
  while true do
    info = getinfo(level, "Sl")
    if not info then
      break
    end
    if info.what ~= "C" and info.what ~= "tail" and info.source ~= INTERNAL then
      break
    end
    level = level + 1
  end
  if type(err) ~= "table" then
    err = { err = "ERR " .. tostring(err) }
  end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end
I.handler = handler


-- Removes whatever a script stored into a protected table through a raw write
-- (table.insert, rawset through a C function ...), so nothing leaks to the next run.
function I.scrub()
  for i = 1, #proxies do
    local p = proxies[i]
    while true do
      local k = next(p)
      if k == nil then
        break
      end
      rawset(p, k, nil)
    end
  end
end

function I.freeze_string_metatable(string_proxy)
  local smt = debug.getmetatable("")
  smt.__index = string_proxy
  -- getmetatable("") shows a read-only view whose __index is the string library.
  smt.__metatable = protect({ __index = string_proxy })
end

