/**
 * `agora offers`: the offers outstanding now; the offer log — queried (`--since 10m`,
 * `--framework`, `--agent`, `--role`, `--kind`, paged through to the end) or followed as it
 * happens (`--follow`, until Ctrl-C: exit 0) — or both: the past since a time, then live.
 */
import { doorRequest } from '../common/security/https';
import type { MasterStateView, OfferLogEvent } from '../common/operator-types';
import { parseArgs, UsageError } from '../common/flags';
import { readEventFrames } from '../common/sse';
import { getJson, leadingMaster, masterAddress, type MasterAddress } from '../common/operator-client';
import { ago, table } from './table';

type Entry = OfferLogEvent & { seq?: number };
interface Page { source: 'jetstream' | 'ring'; entries: Entry[]; next: string | null }

const FILTERS = ['since', 'until', 'framework', 'agent', 'role', 'kind'] as const;

export async function offers(argv: string[], out: (s: string) => void, stop: () => Promise<unknown> = () => new Promise(() => undefined),
  note: (line: string) => void = (l) => process.stderr.write(`agora: ${l}\n`)): Promise<number> {
  const { flags } = parseArgs(argv, {
    master: 'string', json: 'boolean', follow: 'boolean', replay: 'number',
    since: 'string', until: 'string', framework: 'string', agent: 'string', role: 'string', kind: 'string',
  });
  const addr = masterAddress(flags.master);
  const line = (e: Entry) => out(flags.json ? JSON.stringify(e) : describeOfferEvent(e));
  const filtered = FILTERS.some((f) => flags[f] !== undefined);
  if (!flags.follow && !filtered) {
    const state = await getJson<MasterStateView>(addr, '/api/v1/state');
    if (flags.json) { out(JSON.stringify(state.offers, null, 2)); return 0; }
    out(table(['ID', 'FRAMEWORK', 'AGENT', 'ROLE', 'RESOURCES', 'AGE'],
      state.offers.map((o) => [o.id, o.frameworkId, o.agentId, o.role, o.resources.text, ago(o.offeredAt)])));
    return 0;
  }
  if (flags.follow && flags.until !== undefined) throw new UsageError('--until and --follow do not go together: following has no end');
  const abort = new AbortController();
  void stop().then(() => abort.abort());
  // Following, the live stream is opened first and held: what happens while the past is read
  // is shown after it, each line once (the past and the live stream can both have it).
  const held: Entry[] = [];
  let live: ((e: Entry) => void) | undefined;
  const wanted = (e: Entry) => (!flags.framework || e.frameworkId === flags.framework) && (!flags.agent || e.agentId === flags.agent)
    && (!flags.role || (e.role === flags.role)) && (!flags.kind || e.type === flags.kind.toUpperCase());
  let opened!: () => void;
  const open = new Promise<void>((r) => { opened = r; });
  const following = flags.follow
    ? followOffers(await leadingMaster(addr), { replay: flags.replay ?? 0, signal: abort.signal, onOpen: opened }, (e) => { if (wanted(e)) (live ?? ((x) => held.push(x)))(e); })
    : undefined;
  if (following) await Promise.race([open, following]);
  const seen = new Set<string>();
  const key = (e: Entry) => `${e.type} ${e.offerId}`;
  if (filtered) {
    for (const e of await queryAll(addr, flags, note)) {
      seen.add(key(e));
      line(e);
    }
  }
  if (!following) return 0;
  for (const e of held) if (!seen.has(key(e))) line(e);
  live = line;
  await following;
  return 0;
}

/** Every page of `/api/v1/offers` for the flags; a refused parameter is a usage error naming its flag. */
async function queryAll(addr: MasterAddress, flags: Partial<Record<(typeof FILTERS)[number], string>>, note: (l: string) => void): Promise<Entry[]> {
  const params = new URLSearchParams();
  for (const f of FILTERS) if (flags[f] !== undefined) params.set(f, f === 'kind' ? flags[f]!.toUpperCase() : flags[f]!);
  const all: Entry[] = [];
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    if (cursor) params.set('cursor', cursor);
    let page: Page;
    try {
      page = await getJson<Page>(addr, `/api/v1/offers?${params}`);
    } catch (err) {
      const refused = /answered 400: (.*)$/s.exec((err as Error).message);
      const body = refused ? (JSON.parse(refused[1]!) as { error?: string; param?: string }) : undefined;
      if (body?.param) throw new UsageError(`--${body.param}: ${body.error ?? 'refused by the master'}`);
      throw err;
    }
    if (first && page.source === 'ring') note('the master\'s offer log is not durable now (JetStream unavailable): this is only the recent past it keeps in memory');
    all.push(...page.entries);
    cursor = page.next;
  }
  return all;
}

export function describeOfferEvent(e: OfferLogEvent): string {
  const at = new Date(e.at).toISOString();
  switch (e.type) {
    case 'OFFERED': return `${at} OFFERED   ${e.offerId} to ${e.frameworkId} (role ${e.role}) on ${e.agentId}: ${e.resources}`;
    case 'ACCEPTED': return `${at} ACCEPTED  ${e.offerId} by ${e.frameworkId}: tasks ${e.taskIds.join(', ') || 'none'}; unused ${e.unused || 'nothing'}`;
    case 'DECLINED': return `${at} DECLINED  ${e.offerId} by ${e.frameworkId} for ${e.refuseMs} ms: ${e.reason}`;
    case 'RESCINDED': return `${at} RESCINDED ${e.offerId} from ${e.frameworkId}: ${e.reason}`;
    case 'EXPIRED': return `${at} EXPIRED   ${e.offerId} of ${e.frameworkId}: not answered within ${e.timeoutMs} ms`;
  }
}

/** `agora offers`: the outstanding offers; `--follow` the offer log as it happens, until `stop` (Ctrl-C: exit 0). */
/** Streams the master's offer log (server-sent events) until the master closes it or `signal` aborts. */
export function followOffers(addr: MasterAddress, opts: { replay?: number; signal?: AbortSignal; onOpen?: () => void },
  onEvent: (e: OfferLogEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) { resolve(); return; }
    const req = doorRequest(`${addr.httpUrl}/api/v1/offers/events?replay=${opts.replay ?? 0}`, { headers: { accept: 'text/event-stream' }, identity: addr.identity }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`master answered ${res.statusCode} for the offer log`)); res.resume(); return; }
      opts.onOpen?.();
      readEventFrames(res, (frame) => {
        const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (data) onEvent(JSON.parse(data) as OfferLogEvent);
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (opts.signal?.aborted) resolve();
      else reject(new Error(`cannot reach the master at ${addr.httpUrl}: ${err.message}`));
    });
    opts.signal?.addEventListener('abort', () => { req.destroy(); resolve(); }, { once: true });
    req.end();
  });
}
