/**
 * `set.json` in a Redis Sentinel set's folder (common/redis-sentinel.ts): which data node the
 * next start on that folder starts as primary, so that it keeps the newest data rather than
 * syncing it away. The other node then starts as its replica and takes a full copy of it: a
 * wrong choice here loses every write the other had and this one had not.
 */
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { DataMember, SentinelName, SentinelSetMember } from './redis-sentinel';

const DATA: readonly DataMember[] = ['redis-0', 'redis-1'];
const RECORD = 'set.json';

interface SetRecord {
  primary?: unknown;
  /** Every member's port at the start that wrote it: what the Sentinels' configs name nodes by. */
  ports?: Partial<Record<SentinelSetMember, unknown>>;
}

/**
 * The data node to start as primary: the one the Sentinels last agreed on, as their configs
 * say. A Sentinel rewrites and fsyncs its config on a +switch-master, before any writer can
 * learn the new address from it, so the config with the highest epoch names the node that took
 * the newest writes, even when the set was killed before set.json caught up with a failover.
 * set.json's primary when no config names a node of its recorded ports (none yet: redis-0).
 */
export function lastPrimary(dir: string, sentinels: readonly SentinelName[]): DataMember {
  let record: SetRecord = {};
  try {
    record = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as SetRecord;
  } catch {
    // No record yet (a first start), or an unreadable one: the default below.
  }
  const byConfig = newestConfig(dir, sentinels);
  const named = byConfig && DATA.find((m) => record.ports?.[m] === byConfig.port);
  if (named) return named;
  return record.primary === 'redis-1' ? 'redis-1' : 'redis-0';
}

/** The primary's port in the Sentinel config of the highest config epoch, if any config is readable. */
function newestConfig(dir: string, sentinels: readonly SentinelName[]): { port: number; epoch: number } | undefined {
  let newest: { port: number; epoch: number } | undefined;
  for (const s of sentinels) {
    let text: string;
    try {
      text = readFileSync(join(dir, s, 'sentinel.conf'), 'utf8');
    } catch {
      continue;
    }
    const port = /^sentinel monitor \S+ \S+ (\d+) /m.exec(text)?.[1];
    const epoch = Number(/^sentinel config-epoch \S+ (\d+)/m.exec(text)?.[1] ?? 0);
    if (port !== undefined && (!newest || epoch > newest.epoch)) newest = { port: Number(port), epoch };
  }
  return newest;
}

export function recordPrimary(dir: string, primary: DataMember, ports: Record<SentinelSetMember, number>): void {
  writeFileSync(join(dir, RECORD), `${JSON.stringify({ primary, ports })}\n`, { mode: 0o600 });
}
