/**
 * The supervisor that leads a process task's group: the small Perl program the command runs
 * under, the exit-status file in which it says how the command ended, and waiting for that
 * end when the agent is not the supervisor's parent (it was restarted meanwhile).
 */
import { readFileSync, watch, type FSWatcher } from 'fs';
import { constants as osConstants } from 'os';
import { basename, dirname } from 'path';
import type { Logger } from '../../common/log';
import type { Termination } from './containerizer';
import { isAlive } from './procfs';

/**
 * `perl -e SUPERVISOR <gate> <exit-status-file> <command...>`: the process group's leader.
 * It runs the command as its child and waits for it; a SIGTERM (the agent signals the whole
 * group, so the command has it too) does not stop it from waiting. Then it
 * writes how the command ended (`exit N` or `signal N`) to the exit-status file, ends the same
 * way itself, so that a parent agent sees exactly how the command ended and a restarted one
 * can read it. Perl is part of every Debian system (perl-base is essential); a shell could
 * not tell `exit 137` from death by SIGKILL.
 *
 * With `gate` 1 it first waits for one line on stdin: that is how a command gets into its
 * cgroup before it runs. Node's spawn has no hook between fork and exec, and having the child
 * write its own pid into cgroup.procs would need the task's user to own cgroup files (and, on
 * v2, the agent's own cgroup). So the agent moves the supervisor into the cgroup, then sends
 * the line; the command, started after, is born inside. If the agent dies first, the pipe
 * closes and the command never runs.
 */
const SUPERVISOR = [
  'my ($gate, $file, @cmd) = @ARGV;',
  'if ($gate) { my $line = <STDIN>; exit 127 unless defined $line; }',
  'open(STDIN, \'<\', \'/dev/null\');',
  'my $pid = fork();',
  'exit 127 unless defined $pid;',
  'if ($pid == 0) { exec { $cmd[0] } @cmd; print STDERR "cannot start \'$cmd[0]\': $!\\n"; exit 127; }',
  '$SIG{TERM} = sub {};',
  'while (waitpid($pid, 0) != $pid) {}',
  'my $st = $?;',
  'my $sig = $st & 127;',
  'if ($file ne \'\' && open(my $f, \'>\', "$file.tmp")) { print $f ($sig ? "signal $sig" : \'exit \' . ($st >> 8)), "\\n"; close($f); rename("$file.tmp", $file); }',
  'if ($sig) { $SIG{TERM} = \'DEFAULT\'; kill $sig, $$; }',
  'exit($sig ? 128 + $sig : $st >> 8);',
].join('\n');

/** The supervisor's interpreter: `SUPERVISOR` is written for it. */
export const PERL = '/usr/bin/perl';

/** `PERL`'s arguments for running `file args…` under the supervisor; `gated`: it waits for a line on stdin first. */
export function supervisorArgs(gated: boolean, exitStatusFile: string | undefined, file: string, args: readonly string[]): string[] {
  return ['-e', SUPERVISOR, gated ? '1' : '0', exitStatusFile ?? '', file, ...args];
}

/** Signals every process of a group; one already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** How the command ended, as the supervisor wrote it: `exit N` or `signal N`. */
export function readExitStatus(file: string): Termination | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const m = /^(exit|signal) (\d+)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[2]);
  if (m[1] === 'exit') return { exitCode: n };
  const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
  return { exitCode: undefined, signal: name ?? `signal ${n}` };
}

/**
 * Resolves once a recovered process has ended: told by its exit-status file appearing (a
 * watch on its directory), with a slow check of the process as a fallback for a supervisor
 * that was killed outright and wrote nothing.
 */
export function watchExit(pgid: number, pidStartTicks: number | undefined, exitStatusFile: string | undefined, log: Logger): Promise<Termination> {
  return new Promise<Termination>((done) => {
    let watcher: FSWatcher | undefined;
    let poll: NodeJS.Timeout | undefined;
    const check = () => {
      if (isAlive(pgid, pidStartTicks)) return;
      watcher?.close();
      if (poll) clearInterval(poll);
      poll = undefined;
      watcher = undefined;
      const status = exitStatusFile ? readExitStatus(exitStatusFile) : undefined;
      done(status ?? { exitCode: undefined, signal: 'unknown (the process ended without leaving its exit status)' });
    };
    if (exitStatusFile) {
      try {
        const name = basename(exitStatusFile);
        watcher = watch(dirname(exitStatusFile), (_event, file) => {
          // The supervisor writes the file just before it exits: look again until it is gone.
          if (file === name) for (const ms of [0, 10, 50, 200]) setTimeout(check, ms).unref();
        });
      } catch (err) {
        log.warn('cannot watch for the exit of a recovered process; checking every second', { pid: pgid, err });
      }
    }
    poll = setInterval(check, 1000);
    poll.unref();
    check();
  });
}
