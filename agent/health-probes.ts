/**
 * The probes behind health checks: each does one real check of a task and says whether it
 * passed, and why in words. HTTP and TCP probes connect to 127.0.0.1 on the task's host
 * port (`resolveHealthCheck` in `health.ts` turns a bridge container port into it); a
 * COMMAND probe runs the check's command beside the task through its containerizer.
 */
import { request } from 'http';
import { connect } from 'net';
import type { CommandInfo, HealthCheck } from '../common/types';
import type { ExecOptions, ExecResult } from './containerizer/containerizer';
import type { CheckTarget, Probe, ProbeResult } from './health';

const HOST = '127.0.0.1';

/** GET http://127.0.0.1:<port><path>: a status of 200–399 is healthy. */
export function httpProbe(hostPort: number, path: string): Probe {
  const url = `http://${HOST}:${hostPort}${path}`;
  return (signal) => new Promise<ProbeResult>((resolve) => {
    const req = request({ host: HOST, port: hostPort, path, method: 'GET', signal, headers: { 'user-agent': 'agora-agent-health-check' } }, (res) => {
      res.resume(); // the body is not looked at; draining it frees the socket
      const code = res.statusCode ?? 0;
      resolve({ healthy: code >= 200 && code <= 399, why: `GET ${url}: HTTP ${code}` });
    });
    req.on('error', (err) => resolve({ healthy: false, why: `GET ${url}: ${describe(err)}` }));
    req.end();
  });
}

/** A TCP connection to 127.0.0.1:<port> that opens is healthy; it is closed at once. */
export function tcpProbe(hostPort: number): Probe {
  const where = `${HOST}:${hostPort}`;
  return (signal) => new Promise<ProbeResult>((resolve) => {
    const socket = connect({ host: HOST, port: hostPort, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ healthy: true, why: `TCP ${where}: connected` });
    });
    socket.once('error', (err) => resolve({ healthy: false, why: `TCP ${where}: ${describe(err)}` }));
  });
}

/** Runs a command beside the task (how: the containerizer's exec); exit code 0 is healthy. */
export type Exec = (argv: string[], opts: ExecOptions) => Promise<ExecResult>;

export function commandProbe(command: CommandInfo, exec: Exec): Probe {
  const argv = command.value !== '' ? ['/bin/sh', '-c', command.value] : [...command.argv];
  const shown = command.value !== '' ? command.value : command.argv.join(' ');
  return async (signal) => {
    const r = await exec(argv, { env: command.environment, signal });
    const out = r.output.trim();
    const tail = out ? `: ${out.length > 200 ? `${out.slice(0, 200)}…` : out}` : '';
    if (r.exitCode === 0) return { healthy: true, why: `command '${shown}' exited with code 0` };
    const how = r.exitCode === undefined ? 'did not exit normally' : `exited with code ${r.exitCode}`;
    return { healthy: false, why: `command '${shown}' ${how}${tail}` };
  };
}

/** The probe for a check that `resolveHealthCheck` accepted. */
export function probeFor(check: HealthCheck, target: CheckTarget | undefined, exec: Exec): Probe {
  switch (check.type) {
    case 'HTTP': return httpProbe(mustHave(target, check).hostPort, check.path);
    case 'TCP': return tcpProbe(mustHave(target, check).hostPort);
    case 'COMMAND': {
      if (!check.command) throw new Error('invariant: a COMMAND check reaches probeFor only with a command');
      return commandProbe(check.command, exec);
    }
  }
}

function mustHave(target: CheckTarget | undefined, check: HealthCheck): CheckTarget {
  if (!target) throw new Error(`invariant: a ${check.type} check reaches probeFor only with a target port`);
  return target;
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
}
