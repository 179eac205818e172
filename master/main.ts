/**
 * `agora master`: flags → options → startMaster, until SIGINT or SIGTERM.
 */
import { startMaster } from './server';
import type { StartMasterOptions } from './server';

export const MASTER_USAGE = `Usage: agora master [flags]

  --nats URL                  NATS server (env AGORA_NATS; default nats://127.0.0.1:4222)
  --prefix NAME               NATS subject prefix (default agora)
  --host ADDR                 address to bind HTTP and gRPC to (default 0.0.0.0)
  --port N                    HTTP operator API port (default 5050; 0 picks one)
  --grpc-port N               gRPC scheduler API port (default 5053; 0 picks one)
  --allocation-interval-ms N  time between allocation cycles (default 1000)
  --offer-timeout-ms N        rescind offers not answered within N ms (default 0: never)
  --help                      this text
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const FLAGS: Record<string, (o: StartMasterOptions, v: string) => void> = {
  '--nats': (o, v) => { o.natsUrl = v; },
  '--prefix': (o, v) => { o.subjectPrefix = v; },
  '--host': (o, v) => { o.host = v; },
  '--port': (o, v) => { o.httpPort = num('--port', v); },
  '--grpc-port': (o, v) => { o.grpcPort = num('--grpc-port', v); },
  '--allocation-interval-ms': (o, v) => { o.allocationIntervalMs = num('--allocation-interval-ms', v); },
  '--offer-timeout-ms': (o, v) => { o.offerTimeoutMs = num('--offer-timeout-ms', v); },
};

function num(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${v}'`);
  return n;
}

/** Pure: argv (without node and script) and the environment → options, or a request for help. */
export function parseMasterArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: StartMasterOptions } {
  const options: StartMasterOptions = {};
  if (env.AGORA_NATS) options.natsUrl = env.AGORA_NATS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const set = FLAGS[flag];
    if (!set) throw new UsageError(`unknown flag '${arg}'; see --help`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    set(options, value);
  }
  return { help: false, options };
}

export async function runMaster(argv: string[]): Promise<void> {
  const parsed = parseMasterArgs(argv);
  if (parsed.help) {
    process.stdout.write(MASTER_USAGE);
    return;
  }
  const master = await startMaster(parsed.options);
  process.stdout.write(`agora master ${master.info.id}: HTTP on ${master.config.host}:${master.httpPort}, gRPC on ${master.config.host}:${master.grpcPort}\n`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await master.stop();
}
