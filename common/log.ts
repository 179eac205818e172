/**
 * A small structured logger: one line per event, `time LEVEL component: message {fields}`.
 * Quiet by default under jest; AGORA_LOG=debug|info|warn|error|silent sets the floor.
 * AGORA_LOG_FORMAT=json writes each event as one JSON object instead, for log shippers:
 * `{"time","level","component","msg", ...fields}` (a field named like one of those four is
 * kept under `fields`). Hand-written rather than pino: it is this one function, synchronous
 * (a crash loses no line), and every process already logs through it.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function floor(): number {
  const env = process.env.AGORA_LOG as Level | 'silent' | undefined;
  if (env && env in order) return order[env];
  return process.env.JEST_WORKER_ID ? order.warn : order.info;
}

export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
  child(component: string): Logger;
}

export function logger(component: string): Logger {
  const write = (level: Level, msg: string, fields?: object) => {
    if (order[level] < floor()) return;
    const time = new Date().toISOString();
    if (process.env.AGORA_LOG_FORMAT === 'json') {
      process.stderr.write(`${jsonLine(time, level, component, msg, fields)}\n`);
      return;
    }
    const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields, errorReplacer) : '';
    process.stderr.write(`${time} ${level.toUpperCase().padEnd(5)} ${component}: ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => logger(`${component}/${c}`),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { error: value.message } : value;
}

const RESERVED = new Set(['time', 'level', 'component', 'msg']);

/** One event as one JSON object; a field that would overwrite the event's own keys stays under `fields`. */
export function jsonLine(time: string, level: Level, component: string, msg: string, fields?: object): string {
  const own: Record<string, unknown> = {};
  const clashing: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields ?? {})) (RESERVED.has(k) || k === 'fields' ? clashing : own)[k] = v;
  const event = { time, level, component, msg, ...own, ...(Object.keys(clashing).length ? { fields: clashing } : {}) };
  return JSON.stringify(event, errorReplacer);
}
