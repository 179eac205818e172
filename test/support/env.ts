/**
 * Runs before every test file (jest `setupFiles`): no test may read the machine's own
 * `~/.agora` or the caller's AGORA_* settings, so a developer who ran `agora up` gets the
 * same results as CI. A file that wants a client config makes one (`testSecurity()`).
 */
import { join } from 'path';
import { tmpdir } from 'os';

process.env.AGORA_HOME = join(tmpdir(), `agora-no-home-${process.pid}`);
delete process.env.AGORA_CONFIG;
delete process.env.AGORA_USER;
delete process.env.AGORA_MASTER;
