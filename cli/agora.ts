#!/usr/bin/env node
/**
 * The `agora` command: run the pieces (`up`, `master`, `agent`), look at a cluster
 * (`agents`, `tasks`, `offers`, a task's `logs`), run a command as a task (`execute`), and
 * manage the services framework's apps (`app`, `deployments`) and the jobs framework's jobs
 * (`job`). The master's address comes from --master or AGORA_MASTER, the services framework's
 * from --services or AGORA_SERVICES, the jobs framework's from --jobs or AGORA_JOBS; all
 * default to the local cluster.
 */
import { runAgent } from '../agent/main';
import { runMaster } from '../master/main';
import { runJobs } from '../frameworks/jobs/main';
import { runServices } from '../frameworks/services/main';
import { UsageError } from '../common/flags';
import { MasterAddressError } from '../common/master-list';
import { untilStopSignal } from '../common/signals';
import { credentials } from './credentials';
import { execute } from './execute';
import { logs } from './logs';
import { offers } from './offers';
import { agents, frameworks, tasks, weights } from './read-commands';
import { app, deployments } from './app';
import { job } from './job';
import { top } from './top';
import { up } from './up';

const USAGE = `usage: agora <command> [flags]

  up [--example] [--tasks N] [--containerizer auto|docker|process]
     [--http-port 5050] [--grpc-port 5053] [--agent-port 5051] [--nats-port N]
     [--services-port 8080] [--jobs-port 4400] [--redis URL | --redis-sentinel]
     [--state-dir ~/.agora/up] [--fresh] [--masters 3]
                      a local cluster (redis-server, nats-server, master, agent,
                      the services framework and the jobs framework, with their
                      REST APIs and UIs) until Ctrl-C; its state kept in
                      --state-dir, taken back when started again (--fresh: empty);
                      --masters 3: 3 nats-servers clustered, 3 HA masters
                      (5050, 5060, 5070) and 2 replicas of each framework
                      (8080, 8081; 4400, 4401), each restarted when it exits,
                      on a Redis with a replica and 3 Sentinels
                      --redis-sentinel: a primary, a replica and 3 Sentinels
  master [--nats URL] [--port 5050] [--grpc-port 5053] …   run a master
  agent [--nats URL] [--port 5051] [--resources SPEC] …    run an agent
  services [--master HOST:PORT] [--redis URL] [--port 8080] …
                      run the services framework (Marathon's REST API and a web UI)
  jobs [--master HOST:PORT] [--redis URL] [--port 4400] …
                      run the jobs framework (Chronos's and Metronome's REST APIs, a web UI)
  credentials init|list [--json]|revoke NAME
  credentials create operator|framework|agent NAME [--role admin|viewer]
  credentials cert --name HOST --out DIR
  credentials nats-conf [--listen HOST:PORT] [--store DIR]
                      the cluster's principals and certificates in ~/.agora (--dir):
                      create prints a secret once; revoke cuts its live connections
  agents [--json]     the registered agents
  agents gone ID      an operator's word that agent ID is gone for good
  frameworks [--json] the subscribed frameworks: roles, tasks, resources used and offered
  top [--once] [--interval-ms 2000]
                      a live view: agents, resources, roles' shares, frameworks, the offer log
  tasks [--state S] [--framework ID] [--json]
                      the tasks the master knows (--state running, finished, …)
  weights [set ROLE=W ...]
                      the role weights of DRF, or set some
  offers [--follow] [--replay N] [--json]
                      outstanding offers, or the live offer log (Ctrl-C ends it)
  offers --since 10m [--until T] [--framework ID] [--agent ID] [--role R] [--kind K]
                      the offer log after the fact (with --follow: then live)
  logs <task-id> [-f|--follow] [--stderr] [--framework ID] [--offset N]
                      a task's stdout (or stderr) from its sandbox; -f follows it
                      until the task's run ends; --offset -1 starts at the end
  execute [--image IMG] [--cpus N] [--mem MB] [--process] -- <command>
                      run one command as a task; exits with its exit code
  app add <file.json|-> [--wait] [--force]
                      create an app from its Marathon JSON; --wait until it is deployed
  app list [--json]   the apps: instances running/desired, health, resources, deploying
  app show <id> [--json]
                      one app's definition and its tasks (state, host:ports, health)
  app scale <id> <n> [--wait] [--force]
  app restart <id> [--wait] [--force]
  app remove <id> [--wait] [--force]
                      change an app; --force overrides the deployment holding it
  deployments [--json]
                      the deployments in progress
  deployments rollback <id> [--wait] [--force]
                      undo a deployment; --force only cancels it where it stands
  job add <file.json|->
                      create or replace a job from its Metronome JSON (id, run) or
                      its Chronos JSON (name, schedule or parents)
  job list [--json]   the jobs: schedule, next run (OVERDUE), last result, state
  job show <id> [--json]
                      one job's definition, numbers and newest runs
  job run <id> [--wait]
                      run a job now; --wait until the run ends (exit 0 on SUCCESS, 1 if not)
  job history <id> [--json]
                      a job's runs: state, times, exit code, where their output is
  job remove <id> [--force]
                      delete a job; --force stops its active runs

  --master HOST:PORT[,HOST:PORT…]
                      the master's HTTP address, or every master's: the first that
                      answers is asked (default: $AGORA_MASTER or 127.0.0.1:5050)
  --services HOST:PORT
                      the services framework's address, for app and deployments
                      (default: $AGORA_SERVICES or 127.0.0.1:8080, as agora up serves it)
  --jobs HOST:PORT    the jobs framework's address, for job
                      (default: $AGORA_JOBS or 127.0.0.1:4400, as agora up serves it)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const note = (l: string) => process.stderr.write(`agora: ${l}\n`);
  switch (command) {
    case 'up': return up(rest, out, untilStopSignal());
    case 'master': await runMaster(rest); return 0;
    case 'agent': await runAgent(rest); return 0;
    case 'services': await runServices(rest); return 0;
    case 'jobs': await runJobs(rest); return 0;
    case 'agents': return agents(rest, out);
    case 'tasks': return tasks(rest, out);
    case 'frameworks': return frameworks(rest, out);
    case 'top': return top(rest, (t) => process.stdout.write(t), untilStopSignal());
    case 'offers': return offers(rest, out, untilStopSignal);
    case 'weights': return weights(rest, out);
    case 'logs': return logs(rest, { stdout: (c) => process.stdout.write(c), stderr: (c) => process.stderr.write(c) });
    case 'app': return app(rest, { out, note });
    case 'deployments': return deployments(rest, { out, note });
    case 'job': return job(rest, { out, note });
    case 'credentials': return credentials(rest, out);
    case 'execute': return execute(rest, {
      stdout: (c) => process.stdout.write(c),
      stderr: (c) => process.stderr.write(c),
      note,
    });
    case undefined: case 'help': case '--help': case '-h': out(USAGE); return command ? 0 : 2;
    default: throw new UsageError(`unknown command '${command}'`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`agora: ${err.message}\n`);
    if (err instanceof UsageError) {
      const command = process.argv[2];
      process.stderr.write(['master', 'agent', 'services', 'jobs'].includes(command ?? '') ? `see: agora ${command} --help\n` : `${USAGE}\n`);
    }
    // 2: the command line was wrong, whichever command (a master list is a value like any other, wherever it came from)
    process.exit(err instanceof UsageError || err instanceof MasterAddressError ? 2 : 1);
  });
}
