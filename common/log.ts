/**
 * A small structured logger: one line per event, `level component message {fields}`.
 * Quiet by default under jest; AGORA_LOG=debug|info|warn|error|silent sets the floor.
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
    const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields, errorReplacer) : '';
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${component}: ${msg}${extra}\n`);
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
