// The Redis counter store: one Lua script checks and reserves every limit atomically, so replicas never over-admit.
import { Redis } from 'ioredis';
import { WardenError } from '../errors.js';
import { nextReservationId, validateRequest, windowStart } from './memory.js';
import type { CounterStore, LimitRequest, Reservation, ReserveResult } from './types.js';

export interface RedisCounterStoreOptions {
  /** Prepended to every key, so that several gateways (or test runs) can share one Redis. Default `warden:`. */
  prefix?: string;
  /**
   * How long a command may take before it fails with STATE_UNAVAILABLE (ms); also the longest pause between
   * reconnection attempts. Default 1000. While disconnected, calls fail at once rather than wait.
   */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take (ms), and how long open() waits for the first one. Default 3000. */
  connectTimeoutMs?: number;
  /**
   * Hears connection problems, once per outage (the first error after the store was last connected), so that a long
   * outage does not flood the log. Without it, errors only surface as rejected calls.
   */
  onError?: (err: Error) => void;
  /** Reservation ids; they must be unique across replicas and contain no `:`. Default: random per process + counter. */
  newId?: () => string;
}

/**
 * Counters may outlive their window by this much (ms), so that a replica whose clock is slightly behind still sees
 * the count it belongs to rather than an empty key.
 */
const CLOCK_SKEW_GRACE_MS = 10_000;

// Shared by the scripts. Numbers are written with 17 significant digits so that fractional budgets round-trip
// exactly (Lua's tostring keeps only 14); a sliding entry's member ends with its amount, so that sums need no lookup.
const LUA_COMMON = `
local function fmt(x) return string.format('%.17g', x) end
local function amountOf(member) return tonumber(string.match(member, '[^:]+$')) end
local function num(key) return tonumber(redis.call('GET', key)) or 0 end
-- Drops the entries of sorted set z that have left the window (score <= cutoff) and takes them off its sum s.
local function trim(z, s, cutoff)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)
  if #old == 0 then return end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff)
  if redis.call('EXISTS', z) == 0 then
    redis.call('DEL', s)
    return
  end
  local freed = 0
  for _, m in ipairs(old) do freed = freed + amountOf(m) end
  redis.call('SET', s, fmt(num(s) - freed), 'KEEPTTL')
end
`;

/**
 * KEYS: per request, the counter key and the sum key (sliding; repeated counter key for calendar).
 * ARGV: now, reservation id, clock skew grace, then per request: kind (s|c), max, windowMs, amount, windowStart.
 * Returns {1} when everything was added, else {0, index, retryAfterMs, used} and nothing was added.
 */
const RESERVE_LUA = `${LUA_COMMON}
local now, id, grace = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local n = #KEYS / 2
local pending = {}
for i = 1, n do
  local k, s, a = KEYS[2 * i - 1], KEYS[2 * i], 3 + (i - 1) * 5
  local kind, max, windowMs, amount = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local used
  if kind == 's' then
    trim(k, s, fmt(now - windowMs))
    used = num(s)
  else
    used = num(k)
  end
  used = used + (pending[k] or 0)
  if used + amount > max then
    local retry = windowMs
    if kind == 'c' then
      retry = tonumber(ARGV[a + 5]) + windowMs - now
    else
      -- Walk the oldest entries until enough have left for the amount to fit.
      local left, from, found = used, 0, false
      while not found do
        local batch = redis.call('ZRANGE', k, from, from + 63, 'WITHSCORES')
        if #batch == 0 then break end
        for j = 1, #batch, 2 do
          left = left - amountOf(batch[j])
          if left + amount <= max then
            retry = tonumber(batch[j + 1]) + windowMs - now
            found = true
            break
          end
        end
        from = from + 64
      end
    end
    return {0, i - 1, fmt(retry), fmt(used)}
  end
  pending[k] = (pending[k] or 0) + amount
end
for i = 1, n do
  local k, s, a = KEYS[2 * i - 1], KEYS[2 * i], 3 + (i - 1) * 5
  local kind, windowMs, amount = ARGV[a + 1], tonumber(ARGV[a + 3]), ARGV[a + 4]
  if kind == 's' then
    local ttl = math.ceil(windowMs + grace)
    redis.call('ZADD', k, ARGV[1], id .. ':' .. (i - 1) .. ':' .. amount)
    redis.call('SET', s, fmt(num(s) + tonumber(amount)), 'PX', ttl)
    redis.call('PEXPIRE', k, ttl)
  else
    local ttl = math.max(1, math.ceil(tonumber(ARGV[a + 5]) + windowMs - now + grace))
    redis.call('SET', k, fmt(num(k) + tonumber(amount)), 'PX', ttl)
  end
end
return {1}
`;

/**
 * KEYS: the release marker, then per entry the counter key and the sum key (as in reserve).
 * ARGV: marker TTL (0 when there is no calendar entry), reservation id, then per entry: kind, amount.
 * Sliding entries are removed by member, which is idempotent by itself; calendar counts have no per-call record,
 * so the marker (SET NX) lets only the first release take them off.
 */
const RELEASE_LUA = `${LUA_COMMON}
local id = ARGV[2]
local first = true
if ARGV[1] ~= '0' then
  first = redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1])
end
for i = 1, (#KEYS - 1) / 2 do
  local k, s = KEYS[2 * i], KEYS[2 * i + 1]
  local kind, amount = ARGV[2 * i + 1], ARGV[2 * i + 2]
  if kind == 's' then
    if redis.call('ZREM', k, id .. ':' .. (i - 1) .. ':' .. amount) == 1 then
      if redis.call('EXISTS', k) == 0 then
        redis.call('DEL', s)
      else
        redis.call('SET', s, fmt(num(s) - tonumber(amount)), 'KEEPTTL')
      end
    end
  elseif first then
    local v = redis.call('GET', k)
    if v then redis.call('SET', k, fmt(tonumber(v) - tonumber(amount)), 'KEEPTTL') end
  end
end
return 1
`;

/** KEYS: counter key, sum key. ARGV: kind, cutoff (sliding). Returns the counter's use as a string. */
const READ_LUA = `${LUA_COMMON}
if ARGV[1] == 's' then
  trim(KEYS[1], KEYS[2], ARGV[2])
  return fmt(num(KEYS[2]))
end
return fmt(num(KEYS[1]))
`;

type ScriptArg = string | number;

/** The client with the scripts registered through defineCommand (EVALSHA, falling back to EVAL after NOSCRIPT). */
interface ScriptedRedis extends Redis {
  wardenReserve(numKeys: number, ...args: ScriptArg[]): Promise<unknown>;
  wardenRelease(numKeys: number, ...args: ScriptArg[]): Promise<unknown>;
  wardenRead(numKeys: number, ...args: ScriptArg[]): Promise<unknown>;
}

/**
 * Counters shared by every process that points at the same Redis (and prefix). Time is the callers' `nowMs`, not
 * Redis TIME: replicas must keep their clocks in sync (NTP); a skew of d ms shifts that replica's windows by d ms.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly newId: () => string;
  private readonly where: string;
  private readonly commandTimeoutMs: number;
  private connecting: Promise<void> | undefined;

  private constructor(redis: Redis, where: string, commandTimeoutMs: number, opts: RedisCounterStoreOptions) {
    this.redis = redis as ScriptedRedis;
    this.where = where;
    this.commandTimeoutMs = commandTimeoutMs;
    this.prefix = opts.prefix ?? 'warden:';
    this.newId = opts.newId ?? nextReservationId;
    this.redis.defineCommand('wardenReserve', { lua: RESERVE_LUA });
    this.redis.defineCommand('wardenRelease', { lua: RELEASE_LUA });
    this.redis.defineCommand('wardenRead', { lua: READ_LUA });
  }

  /**
   * Connects to `url` (redis:// or rediss://). Waits up to the timeout for the first connection, but resolves even
   * when Redis is down: calls then reject with STATE_UNAVAILABLE until the client's reconnection succeeds, so that a
   * gateway configured to fail open can start without Redis.
   */
  static async open(url: string, opts: RedisCounterStoreOptions = {}): Promise<RedisCounterStore> {
    const commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new WardenError('CONFIG_INVALID', 'the state URL is not a valid redis:// URL', { cause: err });
    }
    const where = `${parsed.hostname}:${parsed.port || '6379'}`;
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      // Fail fast instead of queueing while disconnected: a limit check must answer now, not after an outage.
      enableOfflineQueue: false,
      // A reserve that was sent but not answered may or may not have run; resending it could count a call twice.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(times * 100, commandTimeoutMs),
    });
    let reported = false;
    redis.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      opts.onError?.(
        new WardenError('STATE_UNAVAILABLE', `Redis at ${where}: ${err.message}`, { cause: err }),
      );
    });
    redis.on('ready', () => {
      reported = false;
    });
    const store = new RedisCounterStore(redis, where, commandTimeoutMs, opts);
    redis.connect().catch(() => {});
    await settled(redis, connectTimeoutMs);
    return store;
  }

  async reserve(requests: readonly LimitRequest[], nowMs: number): Promise<ReserveResult> {
    const id = this.newId();
    const keys: string[] = [];
    const args: ScriptArg[] = [String(nowMs), id, String(CLOCK_SKEW_GRACE_MS)];
    const starts: number[] = [];
    for (const r of requests) {
      validateRequest(r, nowMs);
      const start = r.window === 'sliding' ? nowMs : windowStart(nowMs, r.windowMs);
      starts.push(start);
      const [k, s] = this.keysOf(r.key, r.window, r.windowMs, start);
      keys.push(k, s);
      args.push(
        r.window === 'sliding' ? 's' : 'c',
        String(r.max),
        String(r.windowMs),
        String(r.amount),
        start,
      );
    }
    const reply = await this.run('reserve', () => this.redis.wardenReserve(keys.length, ...keys, ...args));
    if (!Array.isArray(reply)) throw this.unexpected(reply);
    if (reply[0] === 1) {
      return {
        ok: true,
        reservation: {
          id,
          entries: requests.map((r, i) => ({
            key: r.key,
            window: r.window,
            windowMs: r.windowMs,
            windowStart: starts[i]!,
            amount: r.amount,
          })),
        },
      };
    }
    return { ok: false, index: Number(reply[1]), retryAfterMs: Number(reply[2]), used: Number(reply[3]) };
  }

  async release(reservation: Reservation): Promise<void> {
    if (reservation.entries.length === 0) return;
    // The marker must outlast every calendar window the reservation touched; from any moment inside a window, its
    // end is at most one window length away.
    let markerTtl = 0;
    const keys = [`${this.prefix}released:${reservation.id}`];
    const args: ScriptArg[] = ['0', reservation.id];
    for (const e of reservation.entries) {
      if (e.window === 'calendar')
        markerTtl = Math.max(markerTtl, Math.ceil(e.windowMs + CLOCK_SKEW_GRACE_MS));
      keys.push(...this.keysOf(e.key, e.window, e.windowMs, e.windowStart));
      args.push(e.window === 'sliding' ? 's' : 'c', String(e.amount));
    }
    args[0] = String(markerTtl);
    await this.run('release', () => this.redis.wardenRelease(keys.length, ...keys, ...args));
  }

  async read(key: string, windowMs: number, window: 'sliding' | 'calendar', nowMs: number): Promise<number> {
    const [k, s] = this.keysOf(key, window, windowMs, windowStart(nowMs, windowMs));
    const reply = await this.run('read', () =>
      this.redis.wardenRead(2, k, s, window === 'sliding' ? 's' : 'c', String(nowMs - windowMs)),
    );
    const used = Number(reply);
    if (!Number.isFinite(used)) throw this.unexpected(reply);
    return used;
  }

  async close(): Promise<void> {
    // QUIT waits for pending replies; when the connection is down there is nothing to wait for.
    await this.redis.quit().catch(() => {});
    this.redis.disconnect();
  }

  /**
   * A sliding counter is a sorted set (score: time in ms, member: `<reservation id>:<index>:<amount>`) and a string
   * holding its sum; a calendar counter is one string per window. The window length is part of the key because
   * `calls` per minute and `calls` per day are two counters.
   */
  private keysOf(
    key: string,
    window: 'sliding' | 'calendar',
    windowMs: number,
    start: number,
  ): [string, string] {
    if (window === 'sliding') {
      const z = `${this.prefix}${key}:s:${windowMs}`;
      return [z, `${z}:sum`];
    }
    const c = `${this.prefix}${key}:c:${windowMs}:${start}`;
    return [c, c];
  }

  private async run<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      // A connection attempt under way may finish in time; one that already failed is not waited for (the
      // client refuses commands at once while it waits to reconnect).
      const { status } = this.redis;
      if (status === 'connecting' || status === 'connect') {
        // One shared wait, so that a burst of calls adds one listener rather than one each.
        this.connecting ??= settled(this.redis, this.commandTimeoutMs).finally(() => {
          this.connecting = undefined;
        });
        await this.connecting;
      }
      return await call();
    } catch (err) {
      throw new WardenError(
        'STATE_UNAVAILABLE',
        `counter ${what} failed: Redis at ${this.where}: ${(err as Error).message}`,
        {
          hint: 'check that Redis is running and reachable; limits fail closed unless state_fail_mode is open',
          cause: err,
        },
      );
    }
  }

  private unexpected(reply: unknown): WardenError {
    return new WardenError(
      'STATE_UNAVAILABLE',
      `unexpected reply from Redis at ${this.where}: ${String(reply)}`,
    );
  }
}

/** Resolves once the client is ready, has failed to connect, or `ms` have passed: whichever comes first. */
function settled(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      redis.off('close', done);
      resolve();
    }
    redis.once('ready', done);
    redis.once('error', done);
    redis.once('close', done);
  });
}
