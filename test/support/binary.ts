/**
 * The built `agora` binary (dist/, built by `npm test` before jest runs), run to its end: its
 * exit code and output. Framework addresses from the environment are cleared, so a test names
 * the one it means.
 */
import { spawn } from 'child_process';
import { join } from 'path';

export const AGORA_BIN = join(__dirname, '..', '..', 'dist', 'cli', 'agora.js');

export function runAgora(argv: string[], o: { stdin?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGORA_BIN, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, AGORA_SERVICES: '', AGORA_JOBS: '', ...o.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.stdin ?? '');
  });
}
