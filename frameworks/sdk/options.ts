/**
 * What `subscribe` takes, and the one place its defaults live: options → defaults → a
 * checked config. A bad option is refused here with an InvalidArgumentError naming it,
 * before anything connects.
 */
import type { Clock } from '../../common/clock';
import { clientIdentity, type ClientIdentity } from '../../common/security/client-config';
import type { FrameworkInfo } from '../../common/types';
import { InvalidArgumentError } from './errors';
import { MasterAddressError, parseMasterList } from '../../common/master-list';

/** How the SDK subscribes again after losing the master (see `SubscribeOptions.reconnect`). */
export interface ReconnectOptions {
  /** Delay before the first attempt, doubled after each failed one. Default 200 ms. */
  initialDelayMs?: number;
  /** The longest delay between attempts. Default 10 000 ms. */
  maxDelayMs?: number;
  /** More masters' gRPC addresses, tried in turn after the first (and before those learned from `master`). Default: none. */
  grpcAddresses?: string[];
}

/** Everything `subscribe` takes; only `framework.name` is required. */
export interface SubscribeOptions {
  /**
   * The master's HTTP address (`host:5050`), or the masters' as a comma-separated list
   * (`m1:5050,m2:5050,m3:5050`): the leader is found through the first that answers, and each
   * one's gRPC address is kept to reconnect to. Defaults to AGORA_MASTER, then the client
   * config's, then the local cluster.
   */
  master?: string;
  /** The master's gRPC address (`host:5053`), to skip looking it up over HTTP. */
  grpcAddress?: string;
  /**
   * What the framework is. `id` set: a failed-over framework comes back under that id.
   * `failoverTimeoutMs`: how long the master keeps its tasks while it is away (default 0:
   * not at all, so give one long enough to reconnect in).
   */
  framework: Partial<FrameworkInfo> & { name: string };
  /**
   * Stay subscribed when the master goes away (on by default): subscribe again under the
   * framework id, with a delay doubling from `initialDelayMs` up to `maxDelayMs`, to the next
   * of the addresses each time, and reconcile implicitly once back. `false`: the first loss
   * closes the subscription (emits `closed`).
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * How many heartbeat intervals (the master's `heartbeatIntervalMs`, from SUBSCRIBED) may
   * pass without any event before the connection counts as lost. Default 3.
   */
  maxMissedHeartbeats?: number;
  /** Acknowledge status updates once the framework is done with them. Default true. */
  autoAcknowledge?: boolean;
  /** How many events may wait unread in `events()` before the subscription fails. Default 100 000. */
  maxBufferedEvents?: number;
  /**
   * How many of the latest events `events()` replays when it is first called (from
   * SUBSCRIBED on, if no more arrived). Until then only these are kept, so a framework that
   * only listens with `on()` holds no growing backlog. Default 1000.
   */
  replayWindow?: number;
  /** Where time comes from: the heartbeat watch and reconnect delays. Default: the system clock. */
  clock?: Clock;
  /**
   * Who the framework is to the master: a principal, its secret, and the CA to trust for TLS.
   * Default: the client config's user (`~/.agora/config` or `AGORA_CONFIG`; `AGORA_USER` picks
   * another of its users). `false`: connect in plaintext without credentials, to a master
   * run with `--insecure`.
   */
  credentials?: ClientIdentity | false;
}

/** The options, checked, with every default filled in. */
export interface SchedulerConfig {
  framework: FrameworkInfo;
  /** Absent: reconnect is off. */
  reconnect: { initialDelayMs: number; maxDelayMs: number; grpcAddresses: string[] } | undefined;
  maxMissedHeartbeats: number;
  autoAcknowledge: boolean;
  maxBufferedEvents: number;
  replayWindow: number;
  clock: Clock;
  /** Absent: plaintext, anonymous. */
  credentials: ClientIdentity | undefined;
}

/**
 * The system clock with timers that keep the process alive. The shared system clock unrefs
 * its timers, which suits a server; but a framework waiting out a reconnect delay may have
 * nothing else pending, and must not exit in the middle of it.
 */
export const processClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  },
  setInterval(fn, ms) {
    const h = setInterval(fn, ms);
    return { cancel: () => clearInterval(h) };
  },
};

export const DEFAULTS = {
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  maxMissedHeartbeats: 3,
  maxBufferedEvents: 100_000,
  replayWindow: 1000,
} as const;

/** Checks `opts` and fills in the defaults; throws InvalidArgumentError on the first bad option. */
export function compileOptions(opts: SubscribeOptions): SchedulerConfig {
  const name = opts.framework?.name;
  if (typeof name !== 'string' || !name.trim()) throw new InvalidArgumentError('framework.name', 'a framework needs a non-empty name');
  if (opts.master !== undefined) checkMasters(opts.master);
  const reconnect = opts.reconnect ?? true;
  let compiledReconnect: SchedulerConfig['reconnect'];
  if (reconnect !== false) {
    const r = reconnect === true ? {} : reconnect;
    const initialDelayMs = positive('reconnect.initialDelayMs', r.initialDelayMs ?? DEFAULTS.initialDelayMs);
    const maxDelayMs = positive('reconnect.maxDelayMs', r.maxDelayMs ?? Math.max(DEFAULTS.maxDelayMs, initialDelayMs));
    if (maxDelayMs < initialDelayMs) {
      throw new InvalidArgumentError('reconnect.maxDelayMs', `${maxDelayMs} ms is shorter than initialDelayMs (${initialDelayMs} ms)`);
    }
    const grpcAddresses = r.grpcAddresses ?? [];
    grpcAddresses.forEach((a, i) => {
      if (typeof a !== 'string' || !a.trim()) throw new InvalidArgumentError(`reconnect.grpcAddresses[${i}]`, `must be a gRPC address such as host:5053, got '${String(a)}'`);
    });
    compiledReconnect = { initialDelayMs, maxDelayMs, grpcAddresses: [...grpcAddresses] };
  }
  return {
    framework: {
      id: '', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {},
      ...opts.framework,
    },
    reconnect: compiledReconnect,
    maxMissedHeartbeats: wholeNumber('maxMissedHeartbeats', opts.maxMissedHeartbeats ?? DEFAULTS.maxMissedHeartbeats, 1),
    autoAcknowledge: opts.autoAcknowledge ?? true,
    maxBufferedEvents: wholeNumber('maxBufferedEvents', opts.maxBufferedEvents ?? DEFAULTS.maxBufferedEvents, 1),
    replayWindow: wholeNumber('replayWindow', opts.replayWindow ?? DEFAULTS.replayWindow, 0),
    clock: opts.clock ?? processClock,
    credentials: opts.credentials === false ? undefined : opts.credentials ?? clientIdentity(),
  };
}

/** A master list the operator client would refuse, refused here as the option it came from. */
function checkMasters(master: unknown): void {
  if (typeof master !== 'string') throw new InvalidArgumentError('master', `must be host:port or a comma-separated list of them, got ${typeof master}`);
  try {
    parseMasterList(master, 'http');
  } catch (err) {
    if (err instanceof MasterAddressError) throw new InvalidArgumentError('master', err.message);
    throw err;
  }
}

function positive(argument: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(argument, `must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

function wholeNumber(argument: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(argument, `must be a whole number ≥ ${min}, got ${String(value)}`);
  return value;
}
